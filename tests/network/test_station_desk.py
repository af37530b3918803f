"""The station desk: idempotent actions, the phone-digits proof, and station events that move status
and report figures exactly like a carrier's events (both databases)."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from integrations.models import Status, TrackEvent, build_result
from shipments.db import utcnow
from shipments.models import Shipment, StationAction, TrackingEvent
from shipments.models.enums import (
    Direction, EventSource, RegistrationSource, Role, ShipmentStatus, StationActionKind,
)
from shipments.models.network import station_attendants
from shipments.services import reports, tracking
from shipments.services.network import desk
from shipments.services.schedule import PollPolicy
from tests.network.conftest import PINGSHUI
from tests.web.conftest import login

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=timezone.utc)


@pytest.fixture
def attendant(db_session, create_user, create_station):
    station = create_station(name="平水测试村站")
    user = create_user(Role.MEMBER)
    db_session.execute(station_attendants.insert().values(station_id=station.id, user_id=user.id))
    return station, user


@pytest.fixture
def parcel(create_shipment, attendant):
    station, _ = attendant

    def make(**values):
        values.setdefault("direction", Direction.INBOUND)
        values.setdefault("destination_station_id", station.id)
        values.setdefault("origin_division_code", PINGSHUI)
        values.setdefault("phone_last4", "2468")
        values.setdefault("status", ShipmentStatus.OUT_FOR_DELIVERY)
        values.setdefault("registered_at", NOW - timedelta(days=1))
        values.setdefault("last_event_at", NOW - timedelta(hours=3))
        return create_shipment(**values)
    return make


def act(session, attendant, kind, number, key, **extra):
    station, user = attendant
    return desk.record_action(session, station=station, user=user, kind=kind, key=key, number=number,
                              occurred_at=extra.pop("occurred_at", NOW - timedelta(minutes=5)), now=NOW, **extra)


def test_an_action_replayed_twice_is_recorded_once(client, db_session, attendant, parcel):
    station, user = attendant
    box = parcel()
    login(client, user)
    body = {"key": "k-offline-0001", "kind": "arrival", "number": box.tracking_number,
            "occurred_at": (utcnow() - timedelta(minutes=30)).isoformat()}
    headers = {"X-Station-Request": "1"}
    answers = [client.post("/station/actions", json=body, headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 200, 200]
    assert [a.json["replayed"] for a in answers] == [False, True, True]
    assert db_session.scalar(select(func.count()).select_from(StationAction)) == 1
    events = db_session.scalars(select(TrackingEvent).where(TrackingEvent.shipment_id == box.id)).all()
    assert [(e.source, e.status) for e in events] == [(EventSource.STATION, ShipmentStatus.AVAILABLE_FOR_PICKUP)]
    db_session.refresh(box)
    assert box.status == ShipmentStatus.AVAILABLE_FOR_PICKUP and box.at_station
    # Without the page's header (a cross-site form could not add it) nothing happens.
    assert client.post("/station/actions", json={**body, "key": "k-offline-0002"}).status_code == 400


def test_a_hand_over_with_wrong_digits_is_refused(client, db_session, attendant, parcel):
    station, user = attendant
    box = parcel(status=ShipmentStatus.AVAILABLE_FOR_PICKUP)
    with pytest.raises(desk.DeskError) as refused:
        act(db_session, attendant, StationActionKind.HANDOVER, box.tracking_number, "k-wrong-digits",
            phone_last4="1357")
    assert refused.value.field == "phone_last4"
    db_session.refresh(box)
    assert box.status == ShipmentStatus.AVAILABLE_FOR_PICKUP and box.delivered_at is None
    db_session.commit()  # the page's refusal rolls its own transaction back, not the test's data
    login(client, user)
    answer = client.post("/station/actions", headers={"X-Station-Request": "1"}, json={
        "key": "k-wrong-digits-2", "kind": "handover", "number": box.tracking_number, "phone_last4": "2467",
        "occurred_at": utcnow().isoformat()})
    assert answer.status_code == 422 and answer.json["field"] == "phone_last4" and "尾号" in answer.json["message"]
    assert db_session.scalar(select(func.count()).select_from(StationAction)) == 0
    right = act(db_session, attendant, StationActionKind.HANDOVER, box.tracking_number, "k-right-digits",
                phone_last4="2468")
    assert right.shipment.status == ShipmentStatus.DELIVERED and right.shipment.delivered_at == NOW - timedelta(minutes=5)


def test_station_events_move_status_and_counts_exactly_like_carrier_events(db_session, attendant, parcel):
    by_station, by_carrier = parcel(), parcel()
    at = NOW - timedelta(minutes=5)
    act(db_session, attendant, StationActionKind.ARRIVAL, by_station.tracking_number, "k-arrive-1", occurred_at=at)
    act(db_session, attendant, StationActionKind.HANDOVER, by_station.tracking_number, "k-hand-1",
        occurred_at=at + timedelta(minutes=1), phone_last4="2468")
    # The same two scans, as a carrier would report them.
    station = attendant[0]
    events = [TrackEvent(at, Status.AVAILABLE_FOR_PICKUP, f"【{station.name}】快件已到站，待村民取件", station.name),
              TrackEvent(at + timedelta(minutes=1), Status.DELIVERED, f"【{station.name}】村民已取件（手机尾号核验）",
                         station.name, substatus="COLLECTED_FROM_LOCKER_OR_STATION")]
    result = build_result(number=by_carrier.tracking_number, carrier="sandbox", status=Status.DELIVERED,
                          substatus="COLLECTED_FROM_LOCKER_OR_STATION", raw_state=None, events=events)
    tracking.apply_track_outcome(db_session, by_carrier, result, source=EventSource.POLL, now=NOW, policy=PollPolicy())
    db_session.flush()
    fields = ("status", "substatus", "at_station", "delivered_at", "last_event_at", "stop_reason", "next_poll_at")
    assert {f: getattr(by_station, f) for f in fields} == {f: getattr(by_carrier, f) for f in fields}
    assert by_station.status == ShipmentStatus.DELIVERED
    # Report figures: both count as delivered, the same way, and equal the raw count.
    filters = reports.ReportFilters(station_id=station.id)
    rows = reports.volume_report(db_session, "season", ("status",), filters).rows
    assert {r.keys[0]: r.shipments for r in rows} == {"delivered": 2}
    raw = db_session.scalar(select(func.count()).select_from(Shipment).where(
        Shipment.destination_station_id == station.id, Shipment.status == ShipmentStatus.DELIVERED))
    assert raw == 2


def test_outbound_registration_is_a_station_shipment_with_provenance(db_session, attendant, create_user):
    station, user = attendant
    from shipments.services import access
    caller = access.caller_for_user(user)
    result = act(db_session, attendant, StationActionKind.OUTBOUND, "SBX6200000001", "k-out-0001", caller=caller,
                 providers={}, phone_last4="1122")
    shipment = result.shipment
    assert (shipment.source, shipment.origin_station_id, shipment.direction) == (
        RegistrationSource.STATION, station.id, Direction.OUTBOUND)
    assert shipment.status == ShipmentStatus.INFO_RECEIVED and shipment.registered_by_user_id == user.id
    again = act(db_session, attendant, StationActionKind.OUTBOUND, "SBX6200000001", "k-out-0001", caller=caller,
                providers={})
    assert again.replayed and again.shipment.id == shipment.id


def test_the_desk_refuses_other_stations_parcels_and_strange_clocks(db_session, attendant, parcel, create_station):
    other = parcel(destination_station_id=create_station().id)
    with pytest.raises(desk.DeskError) as refused:
        act(db_session, attendant, StationActionKind.ARRIVAL, other.tracking_number, "k-other-0001")
    assert refused.value.code == "other_station"
    mine = parcel()
    with pytest.raises(desk.DeskError) as refused:
        act(db_session, attendant, StationActionKind.ARRIVAL, mine.tracking_number, "k-future-001",
            occurred_at=NOW + timedelta(hours=2))
    assert refused.value.code == "time"
    with pytest.raises(desk.DeskError):
        act(db_session, attendant, StationActionKind.ARRIVAL, mine.tracking_number, "bad key!")


def test_station_page_lists_inbound_parcels_for_its_attendant_only(client, db_session, attendant, parcel, create_user):
    station, user = attendant
    box = parcel()
    login(client, user)
    page = client.get("/station/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert station.name in text and box.tracking_number in text and "2468" not in text
    assert len(page.data) < 20 * 1024
    stranger = create_user(Role.MEMBER)
    client.post("/logout", data={})
    other = client.application.test_client()
    login(other, stranger)
    assert other.get("/station/").status_code == 403
