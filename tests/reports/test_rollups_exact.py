"""After random registrations and status changes, every report figure equals a recount from raw rows."""
import random
import re
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import delete, event, insert, select, update

from shipments.report_cli import report_cli
from shipments.db import utcnow
from shipments.extensions import db
from shipments.models import ReportDay, ReportDelta, ReportProgramDim, Shipment, Station
from shipments.models.enums import ShipmentStatus
from shipments.services import reports
from shipments.models.reports import DIMENSIONS
from shipments.services.reports import _FILTER_COLUMNS, GROUPINGS, PERIODS, ReportFilters
from tests.reports.conftest import random_shipment_values

BEIJING = reports.BEIJING


def python_key(shipment: Shipment, stations: dict) -> dict:
    """A shipment's report key, computed in Python from the DESIGN rules (independent of the SQL)."""
    local = shipment.destination_station_id if shipment.direction == "inbound" else shipment.origin_station_id
    station = stations.get(local)
    division = shipment.origin_division_code or (station.division_code if station else None)
    return {
        "day": shipment.registered_at.astimezone(BEIJING).date(),
        "program_id": shipment.program_id or 0,
        "county_code": division[:6] if division else "",
        "township_code": division if division and len(division) == 9 else "",
        "station_id": station.id if station else 0,
        "carrier": shipment.carrier,
        "status": str(shipment.status),
        "direction": str(shipment.direction),
        "channel": str(shipment.channel),
        "province_code": shipment.destination_province_code or "",
    }


def python_report(session, period, group_by, filters=ReportFilters()):
    stations = {s.id: s for s in session.scalars(select(Station))}
    totals = defaultdict(lambda: [0, 0, Decimal("0.00")])
    for shipment in session.scalars(select(Shipment).execution_options(populate_existing=True)):
        if shipment.status == ShipmentStatus.CANCELLED:
            continue  # a cancelled registration is in no volume
        key = python_key(shipment, stations)
        if any(getattr(filters, name) is not None and key[column] != getattr(filters, name)
               for name, column in _FILTER_COLUMNS.items() if column in key):
            continue
        if filters.date_from is not None and key["day"] < filters.date_from:
            continue
        if filters.date_to is not None and key["day"] > filters.date_to:
            continue
        bucket = (reports.period_start(key["day"], period),) + tuple(key[GROUPINGS[g]] for g in group_by)
        totals[bucket][0] += 1
        totals[bucket][1] += shipment.pieces
        totals[bucket][2] += shipment.declared_value or Decimal("0.00")
    return {k: tuple(v) for k, v in totals.items()}


def as_dict(report):
    return {(r.period, *r.keys): (r.shipments, r.pieces, r.value) for r in report.rows}


GROUP_BYS = [()] + [(g,) for g in GROUPINGS] + [("program", "county"), ("township", "direction"),
                                                ("carrier", "province"), ("program", "carrier"),
                                                ("county", "status"), ("channel", "program")]
# One per dimension of report_program_dims (the groupings the router answers from it).
DIMENSION_GROUPINGS = [g for g, column in GROUPINGS.items() if column in DIMENSIONS]


@pytest.fixture
def random_world(db_session, create_program, create_organisation, network, provinces):
    rng = random.Random(20260615)
    programs = [create_program(), create_program(county_code="330604", season_start_month=6, season_end_month=7)]
    organisations = [create_organisation(), create_organisation()]
    # Half through the ORM, one row at a time; half as one bulk INSERT.
    for i in range(40):
        values = random_shipment_values(rng, programs, organisations, network, provinces)
        db_session.add(Shipment(tracking_number=f"RND{i:08d}", **values))
    db_session.flush()
    rows = [dict(random_shipment_values(rng, programs, organisations, network, provinces),
                 tracking_number=f"BLK{i:08d}", updated_at=utcnow(), created_at=utcnow(),
                 poll_failures=0, at_station=False, subscription_state="none") for i in range(60)]
    db_session.execute(insert(Shipment), rows)
    reports.refresh_rollups(db_session)  # some deltas folded, later ones not
    shipments = db_session.scalars(select(Shipment).order_by(Shipment.id)).all()
    for shipment in rng.sample(shipments, 30):
        shipment.status = rng.choice(list(ShipmentStatus))
        if rng.random() < 0.3:
            shipment.program_id = rng.choice([p.id for p in programs] + [None])
        if rng.random() < 0.2:
            shipment.pieces = rng.randint(1, 9)
            shipment.declared_value = Decimal("12.34")
        if rng.random() < 0.2:
            shipment.picked_up_at = shipment.registered_at + timedelta(hours=3)  # not counted: no delta
    db_session.flush()
    ids = [s.id for s in rng.sample(shipments, 10)]
    db_session.execute(update(Shipment).where(Shipment.id.in_(ids))
                       .values(status=ShipmentStatus.DELIVERED, updated_at=utcnow()))
    db_session.execute(delete(Shipment).where(Shipment.id.in_([shipments[0].id, shipments[-1].id])))
    db_session.expire_all()
    return programs, organisations, provinces


@pytest.mark.parametrize("period", PERIODS)
def test_every_volume_figure_equals_a_recount(db_session, random_world, period):
    assert db_session.scalar(select(ReportDelta.id).limit(1)) is not None  # unfolded deltas are counted too
    for group_by in GROUP_BYS:
        rollup = as_dict(reports.volume_report(db_session, period, group_by))
        assert rollup == as_dict(reports.volume_report_raw(db_session, period, group_by)), group_by
        assert rollup == python_report(db_session, period, group_by), group_by


def test_filtered_reports_equal_a_recount(db_session, random_world):
    program = random_world[0][1]
    for filters in (ReportFilters(program_id=program.id),
                    ReportFilters(county="330681", date_from=datetime(2026, 3, 1).date(),
                                  date_to=datetime(2026, 8, 31).date()),
                    ReportFilters(program_id=program.id, date_from=datetime(2026, 6, 1).date()),
                    ReportFilters(program_id=program.id, carrier="zto"),
                    ReportFilters(county="330681", status="delivered", date_to=datetime(2026, 9, 30).date()),
                    ReportFilters(province=random_world[2][0], direction="inbound")):
        for group_by in [(), ("program",), ("county",), ("township",), ("status",), ("carrier",)]:
            rollup = as_dict(reports.volume_report(db_session, "month", group_by, filters))
            assert rollup == python_report(db_session, "month", group_by, filters), (filters, group_by)


def test_reconcile_finds_no_difference_before_and_after_the_fold(app, db_session, random_world):
    assert reports.reconcile(db_session) == []
    folded = reports.refresh_rollups(db_session)
    assert folded > 0
    assert db_session.scalar(select(ReportDelta.id).limit(1)) is None
    assert set(db_session.scalars(select(ReportProgramDim.dimension).distinct())) == set(DIMENSIONS)
    assert reports.reconcile(db_session) == []
    for grouping in DIMENSION_GROUPINGS:
        for group_by in [(grouping,), ("program", grouping)]:
            assert as_dict(reports.volume_report(db_session, "day", group_by)) == python_report(
                db_session, "day", group_by), group_by
    result = app.test_cli_runner().invoke(report_cli, ["reconcile"])
    assert result.exit_code == 0, result.output
    assert "无差异" in result.output


def test_reconcile_reports_a_tampered_bucket_and_exits_non_zero(app, db_session, random_world):
    reports.refresh_rollups(db_session)
    from shipments.models import ReportDay
    bucket = db_session.scalars(select(ReportDay).limit(1)).one()
    bucket.shipments += 1
    db_session.flush()
    differences = reports.reconcile(db_session)
    assert [d.table for d in differences] == ["report_days"]
    result = app.test_cli_runner().invoke(report_cli, ["reconcile"])
    assert result.exit_code == 1
    assert "report_days" in result.output


def test_reconcile_reports_a_tampered_dimension_bucket(db_session, random_world):
    reports.refresh_rollups(db_session)
    bucket = db_session.scalars(select(ReportProgramDim).where(ReportProgramDim.dimension == "channel")
                                .limit(1)).one()
    bucket.pieces += 2
    db_session.flush()
    differences = reports.reconcile(db_session)
    assert [(d.table, d.key[0], d.raw[1] + 2) for d in differences] == [
        ("report_program_dims", "channel", d.rollup[1]) for d in differences]
    assert len(differences) == 1


def test_rebuild_recounts_from_raw_rows(db_session, random_world):
    db_session.execute(delete(ReportProgramDim))  # lost: rebuild recounts it
    reports.rebuild_rollups(db_session)
    assert reports.reconcile(db_session) == []
    assert as_dict(reports.volume_report(db_session, "week", ("program", "county"))) == python_report(
        db_session, "week", ("program", "county"))
    for grouping in DIMENSION_GROUPINGS:
        assert as_dict(reports.volume_report(db_session, "week", ("county", grouping))) == python_report(
            db_session, "week", ("county", grouping)), grouping


@pytest.fixture
def sent_sql(app, db_session):
    """Every SQL statement sent to the database while the test runs."""
    statements = []

    def collect(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", collect)
    yield statements
    event.remove(db.engine, "before_cursor_execute", collect)


def rollups_read(statements) -> set[str]:
    tables = ("report_days", "report_program_days", "report_program_months", "report_program_dims")
    return {t for t in tables for sql in statements if re.search(rf"\b{t}\b", sql)}


@pytest.mark.parametrize(("period", "group_by", "filters", "table"), [
    ("month", ("carrier",), ReportFilters(program_id=1, date_from=datetime(2026, 1, 1).date(),
                                          date_to=datetime(2026, 12, 31).date()), "report_program_dims"),
    ("month", ("program", "status"), ReportFilters(), "report_program_dims"),
    ("day", ("county",), ReportFilters(channel="douyin"), "report_program_dims"),
    ("week", ("province",), ReportFilters(province="330000", county="330681"), "report_program_dims"),
    ("day", (), ReportFilters(direction="inbound"), "report_program_dims"),
    ("month", ("program", "county"), ReportFilters(), "report_program_months"),
    ("day", ("county",), ReportFilters(program_id=1), "report_program_days"),
    ("month", ("carrier", "status"), ReportFilters(), "report_days"),
    ("month", ("carrier",), ReportFilters(status="delivered"), "report_days"),
    ("month", ("carrier",), ReportFilters(organisation_id=1), "report_days"),
    ("month", ("township",), ReportFilters(), "report_program_dims"),
    ("month", ("township", "carrier"), ReportFilters(), "report_days"),
])
def test_the_router_reads_the_coarsest_exact_rollup(db_session, random_world, sent_sql,
                                                    period, group_by, filters, table):
    sent_sql.clear()
    report = reports.volume_report(db_session, period, group_by, filters)
    assert rollups_read(sent_sql) == {table}
    assert as_dict(report) == as_dict(reports.volume_report_raw(db_session, period, group_by, filters))


def test_quality_and_network_figures_equal_a_recount(db_session, random_world, network):
    now = datetime(2027, 1, 1, tzinfo=timezone.utc)
    shipments = [s for s in db_session.scalars(select(Shipment).execution_options(populate_existing=True))
                 if s.status != ShipmentStatus.CANCELLED]  # reports count no cancelled registration
    expected = defaultdict(lambda: [0, 0, 0, 0])
    for s in shipments:
        bucket = expected[(s.program_id, s.carrier, s.destination_province_code)]
        bucket[0] += 1
        bucket[1] += s.picked_up_at is None
        bucket[2] += s.status == ShipmentStatus.EXCEPTION
        bucket[3] += s.status in (ShipmentStatus.RETURNING, ShipmentStatus.RETURNED)
    rows = reports.quality_report(db_session, now=now)
    assert {(r.program_id, r.carrier, r.province_code): [r.shipments, r.no_pickup, r.exceptions, r.returns]
            for r in rows} == dict(expected)
    by_carrier = reports.quality_report(db_session, now=now, by_province=False)
    assert sum(r.shipments for r in by_carrier) == len(shipments)
    stations = {s.id: s for s in db_session.scalars(select(Station))}
    villages = {s.id for s in network["villages"]}
    active = {python_key(s, stations)["station_id"] for s in shipments} & villages
    report = reports.network_report(db_session, ReportFilters(date_to=datetime(2026, 12, 31).date()))
    assert report.active_village_stations == len(active)
    flows = defaultdict(int)
    for s in shipments:
        flows[(python_key(s, stations)["township_code"], str(s.direction))] += 1
    assert {(t["code"], d): t[d] for t in report.townships for d in ("inbound", "outbound") if t[d]} == dict(flows)


def test_report_volumes_prints_a_table_with_totals(app, db_session, random_world):
    result = app.test_cli_runner().invoke(report_cli, ["volumes", "--period", "season", "--group-by", "program"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:2] == ["统计期", "寄递项目"]
    total = reports.volume_report(db_session, "season", ()).totals
    assert lines[-1].split()[0] == "合计" and f"{total['shipments']:,}" in lines[-1]
    bad = app.test_cli_runner().invoke(report_cli, ["volumes", "--group-by", "program", "--group-by", "carrier",
                                                    "--group-by", "status"])
    assert bad.exit_code == 2 and "at most two" in bad.output


def test_poll_bookkeeping_writes_no_delta_but_a_status_change_does(db_session, create_shipment):
    shipment = create_shipment()
    reports.refresh_rollups(db_session)
    shipment.next_poll_at = utcnow()
    shipment.poll_failures = 2
    shipment.last_polled_at = utcnow()
    db_session.flush()
    assert db_session.scalar(select(ReportDelta.id).limit(1)) is None
    shipment.status = ShipmentStatus.IN_TRANSIT
    db_session.flush()
    deltas = db_session.execute(select(ReportDelta.status, ReportDelta.shipments).order_by(ReportDelta.id)).all()
    assert [tuple(d) for d in deltas] == [("pending", -1), ("in_transit", 1)]
