"""Carrier scans matched to our stations when applied: the station page's inbound list and the centre
cross-check read tracking_events.station_id by index (both databases)."""

import pytest

from integrations.models import Status
from shipments.db import utcnow
from shipments.models.enums import Direction, Role, ShipmentStatus
from shipments.models.network import station_attendants
from shipments.services.network import desk
from shipments.services.network.matching import StationNames, station_names
from tests.network.conftest import PINGSHUI, apply_scans
from tests.web.conftest import login

WANGTAN = "330603107"  # another Keqiao township
ZHUJI_TOWN = "330681108"  # a township of another county


@pytest.fixture
def villages(create_station):
    return (create_station(name="平水镇王化村快递服务站", aliases=["王化村"]),
            create_station(name="平水镇同康村快递服务站", aliases=["同康村"]))


def test_a_carrier_scan_naming_a_village_station_puts_the_parcel_on_that_stations_inbound_list(
        client, db_session, villages, create_shipment, create_user):
    wanghua, tongkang = villages
    # Not addressed to any station: only the carrier's scan names the village.
    box = create_shipment(direction=Direction.INBOUND, origin_division_code=PINGSHUI, phone_last4="1234",
                          status=ShipmentStatus.IN_TRANSIT)
    events = apply_scans(db_session, box,
                         ("快件已到达【柯桥分拨中心】", "绍兴市", Status.IN_TRANSIT),
                         ("快件已从【平水镇网点】发出，下一站【同康村】", "绍兴市柯桥区", Status.IN_TRANSIT),
                         ("快件已送达【王化村】村级服务站，请及时取件", "绍兴市柯桥区平水镇", Status.AVAILABLE_FOR_PICKUP))
    # The next stop named after 下一站 is not where the parcel was.
    assert [e.station_id for e in events] == [None, None, wanghua.id]

    for station, shown in ((wanghua, True), (tongkang, False)):
        user = create_user(Role.MEMBER)
        db_session.execute(station_attendants.insert().values(station_id=station.id, user_id=user.id))
        page_client = client.application.test_client()
        login(page_client, user)
        page = page_client.get("/station/")
        assert page.status_code == 200
        assert (box.tracking_number in page.get_data(as_text=True)) is shown

    listed = db_session.scalars(desk.inbound_parcels(wanghua, utcnow())).all()
    assert [s.id for s in listed] == [box.id]
    assert db_session.scalars(desk.inbound_parcels(tongkang, utcnow())).all() == []


def test_a_station_of_another_county_with_the_same_alias_is_not_matched(db_session, create_station, create_shipment):
    ours = create_station(name="平水镇东村服务站", aliases=["东村"])
    create_station(name="山下湖镇东村服务站", aliases=["东村"], division_code=ZHUJI_TOWN)
    box = create_shipment(direction=Direction.INBOUND, origin_division_code=PINGSHUI)
    events = apply_scans(db_session, box, ("快件已到达东村，待取件", None, Status.AVAILABLE_FOR_PICKUP))
    assert events[0].station_id == ours.id
    # Two stations of one county sharing an alias: ambiguous, neither.
    create_station(name="王坛镇东村服务站", aliases=["东村"], division_code=WANGTAN)
    other = create_shipment(direction=Direction.INBOUND, origin_division_code=PINGSHUI)
    events = apply_scans(db_session, other, ("快件已到达东村，待取件", None, Status.AVAILABLE_FOR_PICKUP))
    assert events[0].station_id is None


def test_the_longest_name_wins_and_outbound_parcels_registered_at_the_station_are_not_inbound(
        db_session, create_station, create_shipment):
    first = create_station(name="王坛镇村级快递服务站1", division_code=WANGTAN)
    tenth = create_station(name="王坛镇村级快递服务站10", division_code=WANGTAN)
    names = station_names(db_session)
    assert names.match("330603", None, "【王坛镇村级快递服务站10】已签收") == tenth.id
    assert names.match("330603", "王坛镇村级快递服务站1", "已到站") == first.id
    assert names.match("330681", "王坛镇村级快递服务站1", "已到站") is None
    sent = create_shipment(direction=Direction.OUTBOUND, origin_station_id=first.id, origin_division_code=WANGTAN)
    apply_scans(db_session, sent, ("【王坛镇村级快递服务站1】村民寄件已登记", None, Status.INFO_RECEIVED))
    assert db_session.scalars(desk.inbound_parcels(first, utcnow())).all() == []


def test_names_are_reloaded_when_a_station_changes(db_session, create_station, create_shipment):
    station = create_station(name="平水镇若耶村服务站")
    assert station_names(db_session).match("330603", None, "到达若耶村") is None
    station.aliases = ["若耶村"]
    db_session.flush()
    box = create_shipment(direction=Direction.INBOUND, origin_division_code=PINGSHUI)
    events = apply_scans(db_session, box, ("快件已到达若耶村", None, Status.AVAILABLE_FOR_PICKUP))
    assert events[0].station_id == station.id


def test_short_aliases_are_ignored():
    names = StationNames([(1, "平水镇共配中心", ["平", "平水共配"], PINGSHUI)])
    assert names.match("330603", None, "平安到达") is None
    assert names.match("330603", None, "到达平水共配") == 1


def test_past_events_are_matched_by_the_backfill(app, db_session, villages, create_shipment):
    from datetime import timedelta

    from sqlalchemy import update

    from shipments.models import TrackingEvent
    from shipments.services.network.matching import match_past_events

    wanghua, _ = villages
    box = create_shipment(direction=Direction.INBOUND, origin_division_code=PINGSHUI)
    apply_scans(db_session, box, ("快件已到达王化村服务点", None, Status.AVAILABLE_FOR_PICKUP))
    # As if applied before matching existed.
    db_session.execute(update(TrackingEvent).values(station_id=None))
    assert match_past_events(db_session, utcnow() - timedelta(days=1), db_session.flush, chunk=1) == 1
    assert db_session.scalars(desk.inbound_parcels(wanghua, utcnow())).all() == [box]


def test_the_inbound_list_through_the_api_and_aliases_set_by_the_api(client, db_session, villages, create_shipment,
                                                                     auth):
    from shipments.models.enums import Role as R

    wanghua, tongkang = villages
    admin = auth(R.ADMIN)
    # Aliases are part of a station's record: set them through the API (or the census' 别名 column).
    changed = client.post("/api/v1/stations", headers=admin, json={
        "name": tongkang.name, "level": "village", "division_code": PINGSHUI, "aliases": ["同康村", "同康"]})
    assert changed.status_code == 200 and changed.json["aliases"] == ["同康村", "同康"], changed.json
    bad = client.post("/api/v1/stations", headers=admin, json={
        "name": tongkang.name, "level": "village", "division_code": PINGSHUI, "aliases": ["同"]})
    assert bad.status_code == 422 and "aliases" in bad.json["errors"]["json"]
    scanned = create_shipment(direction=Direction.INBOUND, origin_division_code=PINGSHUI,
                              status=ShipmentStatus.IN_TRANSIT)
    apply_scans(db_session, scanned, ("快件已到达同康，等待取件", None, Status.AVAILABLE_FOR_PICKUP))
    addressed = create_shipment(direction=Direction.INBOUND, destination_station_id=tongkang.id,
                                status=ShipmentStatus.OUT_FOR_DELIVERY)
    listed = client.get(f"/api/v1/stations/{tongkang.id}/inbound", headers=auth(R.OFFICIAL))
    assert listed.status_code == 200, listed.json
    assert {(i["number"], i["addressed"]) for i in listed.json["items"]} == {
        (scanned.tracking_number, False), (addressed.tracking_number, True)}
    other = client.get(f"/api/v1/stations/{wanghua.id}/inbound", headers=admin).json["items"]
    assert other == []
    assert client.get(f"/api/v1/stations/{tongkang.id}/inbound", headers=auth(R.MEMBER)).status_code == 403
    assert client.get("/api/v1/stations/2147483647/inbound", headers=admin).status_code == 404
