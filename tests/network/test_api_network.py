"""The network API: stations, the census import, routes, centre volumes and figures, on both databases."""
import io
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from integrations.models import Status

from shipments.models import CentreCapacity, CentreDay, Shipment, Station
from shipments.models.enums import Direction, OrganisationKind, Role, ShipmentStatus, StationLevel
from shipments.services import access, reports
from tests.network.conftest import PINGSHUI, apply_scans


def test_stations_list_by_level_with_keyset_pages(client, auth, create_station):
    village = [create_station(attendant_name="王丽") for _ in range(3)]
    create_station(level=StationLevel.TOWNSHIP, name="平水测试共配中心")
    official = auth(Role.OFFICIAL)
    first = client.get("/api/v1/stations?level=village&limit=2", headers=official)
    assert first.status_code == 200, first.json
    assert [s["id"] for s in first.json["items"]] == [s.id for s in village[:2]]
    assert first.json["items"][0]["attendant_name"] == "王丽" and first.json["items"][0]["brands"] == ["ems"]
    rest = client.get(f"/api/v1/stations?level=village&after={first.json['next_cursor']}", headers=official)
    assert [s["id"] for s in rest.json["items"]] == [village[2].id] and rest.json["next_cursor"] is None
    # Members read the network, not the attendants' names.
    member = client.get("/api/v1/stations?level=village", headers=auth())
    assert member.status_code == 200 and {s["attendant_name"] for s in member.json["items"]} == {None}
    assert client.get("/api/v1/stations").status_code == 401


def test_census_import_keeps_good_rows_and_names_bad_ones(client, db_session, auth):
    csv = ("站点编码,站点名称,层级,类型,所属乡镇,纬度,经度,服务品牌,邮快合作,负责人,日处理能力\n"
           "PS-001,平水测试村站A,村级,,平水镇,29.95,120.65,EMS、中通,是,张丽,\n"
           "PS-002,平水测试村站B,村级,,不存在镇,,,中通,否,,\n"  # unknown township
           "PS-003,平水测试村站C,村级,,330603105,,,顺风车,否,,\n"  # unknown brand
           "PS-004,平水测试中心,乡镇,共配中心,平水镇,,,,否,,6000\n")
    headers = auth(Role.ADMIN)
    response = client.post("/api/v1/stations/census", headers=headers,
                           data={"file": (io.BytesIO(csv.encode("utf-8")), "普查.csv")})
    assert response.status_code == 200, response.json
    assert (response.json["created"], response.json["updated"]) == (2, 0)
    assert [(p["row"], p["field"]) for p in response.json["problems"]] == [(3, "division"), (4, "brands")]
    a = db_session.scalar(select(Station).where(Station.census_code == "PS-001"))
    assert a.brands == ["ems", "zto"] and a.post_express and a.division_code == PINGSHUI and a.attendant_name == "张丽"
    centre = db_session.scalar(select(Station).where(Station.census_code == "PS-004"))
    assert centre.daily_capacity == 6000 and centre.level == StationLevel.TOWNSHIP
    # The same census again updates, creating nothing.
    again = client.post("/api/v1/stations/census", headers=headers,
                        data={"file": (io.BytesIO(csv.encode("utf-8")), "普查.csv")})
    assert (again.json["created"], again.json["updated"]) == (0, 2)
    assert client.post("/api/v1/stations/census", headers=auth(Role.OFFICIAL),
                       data={"file": (io.BytesIO(b"x"), "a.csv")}).status_code == 403


def test_routes_keep_their_stops_in_order(client, auth, create_station):
    stops = [create_station() for _ in range(3)]
    admin = auth(Role.ADMIN)
    body = {"name": "测试共富邮路", "kind": "common_prosperity", "county_code": "330603",
            "departures": ["07:30", "13:30"], "station_ids": [stops[2].id, stops[0].id, stops[1].id]}
    created = client.post("/api/v1/routes", json=body, headers=admin)
    assert created.status_code == 201, created.json
    listed = client.get("/api/v1/routes", headers=auth())
    route = next(r for r in listed.json["items"] if r["name"] == "测试共富邮路")
    assert [s["station_id"] for s in route["stops"]] == [stops[2].id, stops[0].id, stops[1].id]
    assert [s["position"] for s in route["stops"]] == [1, 2, 3] and route["departures"] == ["07:30", "13:30"]
    assert client.post("/api/v1/routes", json=body, headers=admin).status_code == 409
    bad = client.post("/api/v1/routes", json={**body, "name": "坏线路", "departures": ["25:00"]}, headers=admin)
    assert bad.status_code == 422 and "departures" in bad.json["errors"]["json"]
    # Replaced whole with PUT: new order, a stop fewer, out of service; a stop of another county is refused.
    changed = client.put(f"/api/v1/routes/{route['id']}", headers=admin,
                         json={**body, "departures": ["08:00"], "station_ids": [stops[1].id, stops[2].id],
                               "active": False})
    assert changed.status_code == 200, changed.json
    assert [s["station_id"] for s in changed.json["stops"]] == [stops[1].id, stops[2].id]
    assert changed.json["active"] is False and changed.json["departures"] == ["08:00"]
    elsewhere = create_station(division_code="330681108")
    refused = client.put(f"/api/v1/routes/{route['id']}", headers=admin,
                         json={**body, "station_ids": [stops[0].id, elsewhere.id]})
    assert refused.status_code == 422 and "station_ids" in refused.json["errors"]["json"]
    assert client.put(f"/api/v1/routes/{route['id']}", headers=auth(), json=body).status_code == 403
    assert client.put("/api/v1/routes/2147483647", headers=admin, json=body).status_code == 404


def test_centre_daily_volumes_and_figures_equal_raw_recounts(client, db_session, auth, create_station,
                                                              create_shipment, create_organisation):
    centre = create_station(level=StationLevel.TOWNSHIP, name="测试平水共配中心", daily_capacity=1000,
                            aliases=["平水分拨"])
    village = create_station()
    today = date(2026, 11, 20)
    db_session.add_all([CentreCapacity(station_id=centre.id, effective_from=date(2025, 1, 1), daily_capacity=1000),
                        CentreCapacity(station_id=centre.id, effective_from=date(2026, 11, 15), daily_capacity=8000)])
    # Our parcels scanned AT the centre: 3 on the 14th, 2 on the 16th (Beijing days), each of 2 pieces.
    for day, count in ((14, 3), (16, 2)):
        for _ in range(count):
            parcel = create_shipment(registered_at=datetime(2026, 11, day, 1, tzinfo=timezone.utc),
                                     origin_station_id=village.id, origin_division_code=PINGSHUI,
                                     direction=Direction.OUTBOUND, pieces=2)
            # In and out on the same day: one parcel that day.
            apply_scans(db_session, parcel, ("快件已到达【测试平水共配中心】", "绍兴市", Status.IN_TRANSIT),
                        ("快件已从【平水分拨】发出，下一站【杭州转运中心】", "绍兴市", Status.IN_TRANSIT),
                        now=datetime(2026, 11, day, 5, tzinfo=timezone.utc))
    # Parcels of the township that never went through the centre, a cancelled one that did, and one
    # that only names the centre as its next stop: none of them counts.
    create_shipment(registered_at=datetime(2026, 11, 16, 2, tzinfo=timezone.utc), origin_division_code=PINGSHUI)
    cancelled = create_shipment(origin_division_code=PINGSHUI, status=ShipmentStatus.CANCELLED)
    apply_scans(db_session, cancelled, ("快件已到达【测试平水共配中心】", None, Status.IN_TRANSIT),
                now=datetime(2026, 11, 16, 5, tzinfo=timezone.utc))
    passing = create_shipment(origin_division_code=PINGSHUI)
    apply_scans(db_session, passing, ("快件已从【平水镇网点】发出，下一站【测试平水共配中心】", None, Status.IN_TRANSIT),
                now=datetime(2026, 11, 16, 5, tzinfo=timezone.utc))
    admin = auth(Role.ADMIN)
    days = [{"day": f"2026-11-{d}", "sorted_pieces": n} for d, n in ((13, 700), (14, 760), (16, 5000), (17, 8000))]
    posted = client.post(f"/api/v1/centres/{centre.id}/daily", json={"days": days}, headers=admin)
    assert posted.status_code == 200 and posted.json == {"recorded": 4}
    # The centre's own sorting equipment reports with its token; a day reported again replaces the first report.
    operator = create_organisation(kind=OrganisationKind.OPERATOR)
    sorter = {"Authorization": "Bearer " + access.create_token(db_session, operator, Role.MEMBER, "sorter",
                                                                station_id=centre.id)}
    again = client.post(f"/api/v1/centres/{centre.id}/daily",
                        json={"days": [{"day": "2026-11-13", "sorted_pieces": 740}]}, headers=sorter)
    assert again.status_code == 200, again.json
    assert db_session.scalar(select(func.sum(CentreDay.sorted_pieces)).where(CentreDay.station_id == centre.id)) == \
        740 + 760 + 5000 + 8000
    assert client.post(f"/api/v1/centres/{village.id}/daily", json={"days": days}, headers=admin).status_code == 404
    assert client.post(f"/api/v1/centres/{centre.id}/daily", json={"days": days}, headers=auth()).status_code == 403
    # Another centre's token: 403, for this centre and for ids that are no centre at all.
    other = create_station(level=StationLevel.TOWNSHIP, name="测试王坛共配中心", division_code="330603107")
    other_sorter = {"Authorization": "Bearer " + access.create_token(db_session, operator, Role.MEMBER, "sorter2",
                                                                      station_id=other.id)}
    for target in (centre.id, village.id):
        refused = client.post(f"/api/v1/centres/{target}/daily", json={"days": days}, headers=other_sorter)
        assert refused.status_code == 403, refused.json
    assert db_session.scalar(select(func.count()).select_from(CentreDay).where(CentreDay.station_id == other.id)) == 0
    # A centre token is an operator member token for a centre only.
    for org, role, station_id in ((operator, Role.MEMBER, village.id), (operator, Role.OFFICIAL, centre.id),
                                  (create_organisation(), Role.MEMBER, centre.id)):
        with pytest.raises(access.AccessError):
            access.create_token(db_session, org, role, "x", station_id=station_id)

    figures = client.get(f"/api/v1/centres/{centre.id}/figures?date_from=2026-11-13&date_to={today}",
                         headers=auth(Role.OFFICIAL))
    assert figures.status_code == 200, figures.json
    body = figures.json
    by_day = {d["day"]: d for d in body["days"]}
    # Raw recount: pieces of our live parcels with an event at the centre, per Beijing day of the event.
    raw = {}
    for s_ in db_session.scalars(select(Shipment).where(Shipment.status != ShipmentStatus.CANCELLED)):
        days_seen = {e.occurred_at.astimezone(reports.BEIJING).date().isoformat() for e in s_.events
                     if e.station_id == centre.id}
        for key in days_seen:
            raw[key] = raw.get(key, 0) + s_.pieces
    assert {k: v["ours"] for k, v in by_day.items() if v["ours"]} == raw == {"2026-11-14": 6, "2026-11-16": 4}
    assert body["ours_total"] == 10 and body["reported_total"] == 740 + 760 + 5000 + 8000
    assert by_day["2026-11-14"]["capacity"] == 1000 and by_day["2026-11-14"]["utilisation"] == "76.0"
    assert by_day["2026-11-16"]["capacity"] == 8000 and by_day["2026-11-16"]["utilisation"] == "62.5"
    assert by_day["2026-11-15"]["reported"] is None
    assert body["peak"]["day"] == "2026-11-17" and body["peak"]["reported"] == 8000
    change = body["change"]
    assert (change["capacity_before"], change["capacity_after"]) == (1000, 8000)
    assert (change["average_before"], change["average_after"]) == (750, 6500)


def test_route_figures_per_stop_equal_raw_recounts(db_session, create_station, create_shipment):
    from decimal import Decimal

    from shipments.models import Route, RouteStop
    from shipments.models.enums import RouteKind
    from shipments.services.network import figures

    stops = [create_station() for _ in range(3)]
    route = Route(name="测试客货邮线", kind=RouteKind.PASSENGER_FREIGHT_MAIL, county_code="330603", departures="07:30")
    for position, station in enumerate(stops, start=1):
        route.stops.append(RouteStop(position=position, station_id=station.id))
    db_session.add(route)
    at = datetime(2026, 11, 10, 3, tzinfo=timezone.utc)
    plan = [(0, Direction.OUTBOUND, 2, "120.50"), (0, Direction.OUTBOUND, 1, "80.00"), (0, Direction.INBOUND, 1, None),
            (1, Direction.INBOUND, 3, "15.00"), (2, Direction.OUTBOUND, 1, "300.00")]
    for index, direction, pieces, value in plan:
        station_key = "origin_station_id" if direction == Direction.OUTBOUND else "destination_station_id"
        create_shipment(registered_at=at, direction=direction, pieces=pieces, origin_division_code=PINGSHUI,
                        declared_value=Decimal(value) if value else None, **{station_key: stops[index].id})
    create_shipment(registered_at=at - timedelta(days=40), origin_station_id=stops[0].id,
                    origin_division_code=PINGSHUI)  # before the period
    db_session.flush()
    filters = reports.ReportFilters(date_from=date(2026, 11, 1), date_to=date(2026, 11, 30))
    [result] = figures.route_figures(db_session, [route], filters)
    for stop in result["stops"]:
        station_id = stop["station"].id
        mine = [s for s in db_session.scalars(select(Shipment)) if date(2026, 11, 1) <= s.registered_at.astimezone(
            reports.BEIJING).date() <= date(2026, 11, 30)]
        out = [s for s in mine if s.direction == Direction.OUTBOUND and s.origin_station_id == station_id]
        inn = [s for s in mine if s.direction == Direction.INBOUND and s.destination_station_id == station_id]
        assert (stop["out"], stop["in"]) == (len(out), len(inn))
        assert (stop["out_pieces"], stop["in_pieces"]) == (sum(s.pieces for s in out), sum(s.pieces for s in inn))
        assert stop["value"] == sum((s.declared_value or Decimal(0) for s in out + inn), Decimal("0.00"))
    assert (result["out"], result["in"], result["value"]) == (3, 2, Decimal("515.50"))
