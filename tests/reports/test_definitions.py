"""The report definitions, pinned: prorated seasonal target, 次日递率, the no-pickup bucket, coverage."""
from datetime import date, datetime
from decimal import Decimal

import pytest

from shipments.models import TrackingEvent
from shipments.models.enums import EventSource, Product, ShipmentStatus
from shipments.services import reports
from shipments.services.reports import ReportFilters

BJ = reports.BEIJING


def bj(*args) -> datetime:
    return datetime(*args, tzinfo=BJ)


@pytest.fixture
def bayberry(create_program):
    return create_program(product=Product.BAYBERRY, county_code="330681", target_pieces=100_000,
                          season_start_month=6, season_end_month=7, perishable=True, deadline_hours=48)


def test_prorated_target_is_spread_over_the_season_not_the_year(db_session, bayberry):
    assert reports.season_window(bayberry) == (date(2026, 6, 1), date(2026, 7, 31))
    before = reports.program_progress(db_session, bayberry, date(2026, 5, 31))
    assert (before.elapsed_days, before.prorated_target) == (0, 0)
    mid = reports.program_progress(db_session, bayberry, date(2026, 6, 15))
    assert (mid.elapsed_days, mid.season_days) == (15, 61)
    assert mid.prorated_target == 24590  # 100,000 × 15 / 61, half up
    assert reports.program_progress(db_session, bayberry, date(2026, 9, 1)).prorated_target == 100_000


def test_all_year_and_wrapping_seasons(create_program, db_session):
    pearls = create_program(target_pieces=10_000_000)
    assert reports.program_progress(db_session, pearls, date(2026, 7, 2)).prorated_target == 5_013_699  # 183/365
    winter = create_program(season_start_month=11, season_end_month=2)
    assert reports.season_window(winter) == (date(2026, 11, 1), date(2027, 2, 28))


def test_progress_counts_beijing_days_in_the_season_and_projects_the_pace(
        db_session, bayberry, create_shipment, network):
    township_a, township_b, _ = network["townships"]
    # 2026-06-01 00:30 Beijing is in the season; 2026-05-31 23:30 Beijing is not.
    create_shipment(status=ShipmentStatus.IN_TRANSIT, program=bayberry, pieces=3,
                    registered_at=bj(2026, 6, 1, 0, 30), origin_division_code=township_a)
    create_shipment(status=ShipmentStatus.IN_TRANSIT, program=bayberry, pieces=50,
                    registered_at=bj(2026, 5, 31, 23, 30), origin_division_code=township_a)
    create_shipment(status=ShipmentStatus.IN_TRANSIT, program=bayberry, pieces=7,
                    registered_at=bj(2026, 6, 15, 23, 59), origin_division_code=township_b)
    create_shipment(status=ShipmentStatus.IN_TRANSIT, program=bayberry, pieces=90,
                    registered_at=bj(2026, 6, 16, 0, 0), origin_division_code=township_b)
    # Done counts parcels the carrier has taken: not those waiting for pickup, cancelled or sent back.
    for status in ("pending", "info_received", "cancelled", "returning", "returned"):
        create_shipment(status=status, program=bayberry, pieces=40, registered_at=bj(2026, 6, 2, 9),
                        origin_division_code=township_a)
    progress = reports.program_progress(db_session, bayberry, date(2026, 6, 15))
    assert (progress.pieces, progress.shipments) == (10, 2)
    assert progress.projected_pieces == round(10 * 61 / 15)
    assert progress.tier == "十万件"
    assert progress.flagged  # 10 of 24,590
    shares = {t.code: t for t in progress.townships}
    # Three townships hold all the county's village stations: a third of the target each.
    assert shares[township_a].prorated_target == round(24590 / 3)
    assert shares[township_a].pieces == 3 and shares[township_a].flagged
    assert [c.code for c in progress.counties] == ["330681"]


def test_township_below_sixty_percent_is_flagged_and_above_is_not(db_session, create_program, create_shipment, network):
    program = create_program(target_pieces=300, county_code="330681")  # all year: 100 per township by year end
    township_a, township_b, _ = network["townships"]
    create_shipment(status=ShipmentStatus.IN_TRANSIT, program=program, pieces=60,
                    registered_at=bj(2026, 3, 1, 9), origin_division_code=township_a)
    create_shipment(status=ShipmentStatus.IN_TRANSIT, program=program, pieces=59,
                    registered_at=bj(2026, 3, 1, 9), origin_division_code=township_b)
    progress = reports.program_progress(db_session, program, date(2026, 12, 31))
    shares = {t.code: t for t in progress.townships}
    assert shares[township_a].prorated_target == 100 and not shares[township_a].flagged
    assert shares[township_b].flagged
    assert shares[township_a].percent == Decimal("60.0")


@pytest.fixture
def next_day_world(db_session, bayberry, create_shipment, create_organisation):
    org = create_organisation()
    common = {"program": bayberry, "organisation": org, "carrier": "sf", "destination_province_code": "310000"}
    on_time = create_shipment(**common, registered_at=bj(2026, 6, 1, 3, 30), picked_up_at=bj(2026, 6, 1, 23, 30),
                              delivered_at=bj(2026, 6, 2, 23, 59), status=ShipmentStatus.DELIVERED)
    # Within 48 h, but after the end of the day after pickup: late.
    late = create_shipment(**common, registered_at=bj(2026, 5, 30, 18, 0), picked_up_at=bj(2026, 6, 1, 0, 10),
                           delivered_at=bj(2026, 6, 3, 0, 5), status=ShipmentStatus.DELIVERED)
    # first_station_at is what applying this event stores (tests/test_polling_tracking.py proves it).
    at_station = create_shipment(**common, registered_at=bj(2026, 6, 1, 8), picked_up_at=bj(2026, 6, 1, 10),
                                 status=ShipmentStatus.AVAILABLE_FOR_PICKUP, at_station=True,
                                 first_station_at=bj(2026, 6, 2, 20))
    db_session.add(TrackingEvent(shipment=at_station, occurred_at=bj(2026, 6, 2, 20), status="available_for_pickup",
                                 description="已放入驿站", source=EventSource.POLL, dedupe_key="a1"))
    no_pickup = create_shipment(**common, registered_at=bj(2026, 6, 1, 8), status=ShipmentStatus.PENDING)
    never_arrived = create_shipment(**common, registered_at=bj(2026, 6, 1, 8), picked_up_at=bj(2026, 6, 1, 9),
                                    status=ShipmentStatus.EXCEPTION)
    in_window = create_shipment(**common, registered_at=bj(2026, 6, 5, 7), picked_up_at=bj(2026, 6, 5, 8),
                                status=ShipmentStatus.IN_TRANSIT)
    db_session.flush()
    return {"on_time": on_time, "late": late, "at_station": at_station, "no_pickup": no_pickup,
            "never_arrived": never_arrived, "in_window": in_window}


def test_next_day_rate_excludes_the_pickup_day_and_keeps_no_pickup_apart(db_session, next_day_world):
    [row] = reports.quality_report(db_session, now=bj(2026, 6, 5, 10))
    assert row.shipments == 6
    assert (row.next_day_on_time, row.next_day_late, row.next_day_pending, row.no_pickup) == (2, 2, 1, 1)
    assert row.next_day_on_time + row.next_day_late + row.next_day_pending + row.no_pickup == row.shipments
    assert row.next_day_rate == Decimal("50.0")
    # 揽收率: picked up within 24 h of registration (the 30 h 10 min one is not).
    assert row.picked_within_24h == 4 and row.pickup_rate == Decimal("66.7")
    assert row.exceptions == 1 and row.exception_rate == Decimal("16.7")
    # Transit over the two delivered parcels: 24.5 h and 47.9 h, in the 2-hour buckets [24, 26) and [46, 48):
    # the rollup interpolates between the buckets' middles, exact to the bucket.
    assert (row.transit_p50_hours, row.transit_p90_hours) == (36.0, round(25 + 0.9 * (47 - 25), 1))
    [raw] = reports.quality_report_raw(db_session, now=bj(2026, 6, 5, 10))
    assert raw.transit_p50_hours == pytest.approx(round((24.4833 + 47.9167) / 2, 1), abs=0.05)
    assert raw.transit_p90_hours == pytest.approx(round(24.4833 + 0.9 * (47.9167 - 24.4833), 1), abs=0.05)
    assert abs(row.transit_p50_hours - raw.transit_p50_hours) <= 1 and abs(row.transit_p90_hours - raw.transit_p90_hours) <= 1
    assert (raw.shipments, raw.next_day_on_time, raw.next_day_late, raw.next_day_pending, raw.picked_within_24h) == (
        row.shipments, row.next_day_on_time, row.next_day_late, row.next_day_pending, row.picked_within_24h)


def test_late_perishables_start_the_clock_at_pickup_or_registration(db_session, next_day_world, bayberry,
                                                                   create_shipment):
    listed = {s.id: hours for s, hours in db_session.execute(
        reports.late_perishables(db_session, now=bj(2026, 6, 5, 10)))}
    assert next_day_world["on_time"].id not in listed  # 24.5 h
    assert next_day_world["late"].id not in listed  # 47.9 h < 48 h
    assert next_day_world["never_arrived"].id in listed  # 97 h and counting
    assert next_day_world["no_pickup"].id in listed  # 98 h since registration
    assert next_day_world["in_window"].id not in listed


def test_coverage_and_silent_stations(db_session, network, create_shipment):
    villages = network["villages"]
    create_shipment(origin_station_id=villages[0].id, registered_at=bj(2026, 6, 20, 9))
    create_shipment(origin_station_id=villages[1].id, registered_at=bj(2026, 6, 1, 9))  # 29 days before
    create_shipment(direction="inbound", destination_station_id=villages[2].id, registered_at=bj(2026, 6, 25, 9))
    create_shipment(origin_station_id=network["centre"].id, registered_at=bj(2026, 6, 25, 9))  # not a village
    network_report = reports.network_report(db_session, ReportFilters(date_from=date(2026, 6, 1),
                                                                      date_to=date(2026, 6, 30)))
    assert (network_report.active_village_stations, network_report.village_stations) == (3, 6)
    assert network_report.coverage == Decimal("50.0")
    silent = {s.id for s in network_report.silent_stations}
    assert villages[0].id not in silent and villages[2].id not in silent
    assert villages[1].id in silent  # last parcel 29 days before the period's end
    flows = {t["code"]: t for t in network_report.townships}
    assert flows[villages[2].division_code]["inbound"] == 1


def test_network_json_is_the_schemas_answer_with_the_unknown_township_last(db_session, network, create_shipment):
    from shipments.schemas.reports import NetworkSchema, dump_network
    villages = network["villages"]
    create_shipment(origin_station_id=villages[0].id, registered_at=bj(2026, 6, 20, 9))
    create_shipment(direction="inbound", destination_station_id=villages[2].id, registered_at=bj(2026, 6, 25, 9))
    create_shipment(registered_at=bj(2026, 6, 25, 9))  # no station: the unknown township (未知乡镇)
    report = reports.network_report(db_session, ReportFilters(date_from=date(2026, 6, 1), date_to=date(2026, 6, 30)))
    assert [t["name"] for t in report.townships][-1] == "未知乡镇" and len(report.townships) >= 3
    assert report.silent_stations
    answer = {"as_of": report.as_of, "village_stations": report.village_stations,
              "active_village_stations": report.active_village_stations, "coverage": report.coverage,
              "silent_stations": report.silent_stations, "townships": report.townships}
    assert dump_network(report) == NetworkSchema().dump(answer)


def test_seasons_and_weeks_in_beijing_time():
    assert reports.period_start(date(2026, 1, 15), "season") == date(2025, 12, 1)
    assert reports.period_start(date(2026, 5, 31), "season") == date(2026, 3, 1)
    assert reports.period_start(date(2026, 6, 14), "week") == date(2026, 6, 8)  # a Sunday → Monday


def test_county_map_is_pieces_over_prorated_targets_of_the_countys_programs(db_session, create_program,
                                                                           create_shipment):
    tea = create_program(county_code="330624", target_pieces=1000, season_start_month=3, season_end_month=5)
    other = create_program(county_code="330624", target_pieces=920)  # all year
    create_shipment(status=ShipmentStatus.IN_TRANSIT, program=tea, pieces=100, registered_at=bj(2026, 3, 10, 9))
    create_shipment(status=ShipmentStatus.IN_TRANSIT, program=other, pieces=8, registered_at=bj(2026, 1, 10, 9))
    counties = reports.county_progress(db_session, 2026, date(2026, 3, 31))
    # tea: 1000 × 31/92 = 337; other: 920 × 90/365 = 227 → 108 / 564
    assert counties["330624"]["prorated_target"] == 337 + 227
    assert counties["330624"]["percent"] == Decimal("19.1")
