"""Benchmark: program reports from the rollups vs a naive GROUP BY over 10,000,000 shipments (PostgreSQL).

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/yx_rep_bench \
        python bench/reports.py [--rows 10000000] [--regenerate]

Generates two years of shipments (2025-2026, 20 programs, 6 counties, 8
carriers) with generate_series (triggers off), rebuilds the rollups, then
times, through services.reports, (a) one program's by-day report for a year
and (b) the all-programs by-month report grouped by county, each beside the
naive GROUP BY over the raw rows (services.reports.volume_report_raw) in the
same run, and checks both give the same figures. Then (c) one program by
month grouped by carrier and (d) all programs by month grouped by status,
which the router answers from report_program_dims, each beside the same
query on the full-grain report_days and the naive GROUP BY. It also measures
what the rollup triggers cost a bulk insert and a bulk status update.
"""
import argparse
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402

from shipments import create_app  # noqa: E402
from shipments.extensions import db  # noqa: E402
from shipments.models import Organisation, Program, Shipment, Station  # noqa: E402
from shipments.models.enums import Product, StationLevel  # noqa: E402
from shipments.services import demo, reports  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/yx_rep_bench"
CARRIERS = ["ems", "chinapost", "sf", "zto", "yto", "sto", "yunda", "jt"]
COUNTIES = ["330602", "330603", "330604", "330624", "330681", "330683"]
CEILING_DAY_MS, CEILING_MONTH_MS = 20.0, 50.0


def reset_schema(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def setup_reference(session) -> list[int]:
    demo.load_demo(session)
    for n in range(1, 20 - session.scalar(select(func.count()).select_from(Program)) + 1):
        county = COUNTIES[n % 6]
        session.add(Program(name=f"基准测试项目{n:02d}", name_en=f"Bench program {n}", product=Product.OTHER,
                            county_code=county, year=2026, target_pieces=500_000))
    session.flush()
    return session.scalars(select(Program.id).order_by(Program.id)).all()


def generate(session, rows: int, chunk: int = 1_000_000) -> None:
    """Insert `rows` shipments with generate_series; triggers off (the rollups are rebuilt after)."""
    programs = session.execute(select(Program.id, Program.county_code).order_by(Program.id)).all()
    stations = session.execute(select(Station.id, Station.division_code).where(
        Station.level == StationLevel.VILLAGE).order_by(Station.id)).all()
    orgs = session.scalars(select(Organisation.id).order_by(Organisation.id)).all()
    by_county = {c: [s for s in stations if s.division_code.startswith(c)] for c in COUNTIES}
    # Per program: its home county's village stations (80 %) else any station.
    home_station_ids = [[s.id for s in by_county[p.county_code]] or [stations[0].id] for p in programs]
    width = max(len(x) for x in home_station_ids)
    padded = [(ids * width)[:width] for ids in home_station_ids]
    division_of = {s.id: s.division_code for s in stations}
    params = {
        "programs": [p.id for p in programs], "carriers": CARRIERS, "orgs": orgs,
        "home": padded, "width": width, "stations": [s.id for s in stations],
        "divisions": [s.division_code for s in stations],
        "home_divisions": [[division_of[i] for i in row] for row in padded],
        "provinces": ["110000", "310000", "320000", "330000", "340000", "350000", "370000", "440000", "510000"],
        "channels": ["douyin", "kuaishou", "taobao", "pinduoduo", "wechat", "offline", "other"],
        "statuses": ["delivered"] * 6 + ["in_transit", "available_for_pickup", "exception", "returned", "pending"],
    }
    session.execute(text("ALTER TABLE shipments DISABLE TRIGGER USER"))
    session.execute(text("SELECT setseed(0.42)"))
    done = session.scalar(select(func.count()).select_from(Shipment))
    started = time.perf_counter()
    while done < rows:
        n = min(chunk, rows - done)
        # Raw SQL: a set-based generator is the only sane way to write 10M rows.
        session.execute(text("""
            INSERT INTO shipments (carrier, tracking_number, provider, program_id, organisation_id, channel,
                direction, origin_division_code, origin_station_id, destination_province_code, pieces,
                declared_value, registered_at, picked_up_at, status, at_station, poll_failures,
                subscription_state, created_at, updated_at)
            SELECT (CAST(:carriers AS text[]))[1 + (p * 7 + g) % 8], 'BN' || lpad(g::text, 12, '0'), 'sandbox',
                   (CAST(:programs AS int[]))[p], (CAST(:orgs AS int[]))[1 + g % cardinality(CAST(:orgs AS int[]))],
                   (CAST(:channels AS text[]))[1 + (g / 3) % 7],
                   CASE WHEN g % 10 = 0 THEN 'inbound' ELSE 'outbound' END,
                   CASE WHEN home THEN (CAST(:home_divisions AS text[]))[p][1 + g % CAST(:width AS int)]
                        ELSE (CAST(:divisions AS text[]))[1 + g % cardinality(CAST(:stations AS int[]))] END,
                   CASE WHEN home THEN (CAST(:home AS int[]))[p][1 + g % CAST(:width AS int)]
                        ELSE (CAST(:stations AS int[]))[1 + g % cardinality(CAST(:stations AS int[]))] END,
                   (CAST(:provinces AS text[]))[1 + (g / 7) % 9], 1 + g % 3, (g % 50000) / 100.0,
                   reg, reg + interval '5 hours', (CAST(:statuses AS text[]))[1 + (g / 11) % 11], false, 0, 'none', now(), now()
            FROM (SELECT g, 1 + (hashint8(g) & 2147483647) % cardinality(CAST(:programs AS int[])) AS p,
                         random() < 0.8 AS home,
                         timestamptz '2025-01-01 00:00+08' + random() * interval '730 days' AS reg
                  FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS g) s
        """), {**params, "first": done + 1, "last": done + n})
        session.commit()
        done += n
        print(f"  generated {done:,} rows ({time.perf_counter() - started:.0f} s)", flush=True)
    session.execute(text("ALTER TABLE shipments ENABLE TRIGGER USER"))
    session.commit()


def timed(fn, runs: int) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), result


def figures(report) -> dict:
    return {(r.period, *r.keys): (r.shipments, r.pieces, r.value) for r in report.rows}


def trigger_cost(session, runs: int = 5, rows: int = 100_000) -> dict:
    """Median ms to bulk-insert / bulk-update `rows` shipments with and without the rollup triggers (rolled back)."""
    insert_sql = text("""
        INSERT INTO shipments (carrier, tracking_number, provider, program_id, organisation_id, channel, direction,
            origin_division_code, destination_province_code, pieces, declared_value, registered_at, status,
            at_station, poll_failures, subscription_state, created_at, updated_at)
        SELECT 'zto', 'TC' || lpad(g::text, 12, '0'), 'sandbox', :program, :org, 'douyin', 'outbound',
               '330681108', '310000', 1, 9.90, now() - (g % 1000) * interval '1 hour', 'pending', false, 0,
               'none', now(), now()
        FROM generate_series(1, :n) g""")
    program = session.scalar(select(Program.id).order_by(Program.id))
    org = session.scalar(select(Organisation.id).order_by(Organisation.id))
    samples = {label: {"insert": [], "update": [], "fold": []} for label in ("with triggers", "without triggers")}
    # Interleaved, so caches and autovacuum favour neither side.
    for _ in range(runs):
        for label, disable in (("with triggers", False), ("without triggers", True)):
            if disable:
                session.execute(text("ALTER TABLE shipments DISABLE TRIGGER USER"))
            started = time.perf_counter()
            session.execute(insert_sql, {"program": program, "org": org, "n": rows})
            samples[label]["insert"].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            session.execute(text("UPDATE shipments SET status = 'in_transit', updated_at = now() "
                                 "WHERE tracking_number LIKE 'TC%' AND carrier = 'zto'"))
            samples[label]["update"].append((time.perf_counter() - started) * 1000)
            if not disable:
                started = time.perf_counter()
                reports.refresh_rollups(session)
                samples[label]["fold"].append((time.perf_counter() - started) * 1000)
            session.rollback()
    out = {label: {k: statistics.median(v) if v else None for k, v in kinds.items()}
           for label, kinds in samples.items()}
    return out


def sqlite_trigger_cost(rows: int = 20_000, runs: int = 5) -> dict:
    """Median ms to insert `rows` shipments in one executemany on SQLite, with and without the triggers."""
    import tempfile

    from sqlalchemy import insert

    from shipments.db import utcnow

    samples = {"with triggers": [], "without triggers": []}
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/bench.db", "SECRET_KEY": "bench",
                          "SCHEDULER_IN_PROCESS": False})
        with app.app_context():
            upgrade()
            program = setup_reference(db.session)[0]
            org = db.session.scalar(select(Organisation.id))
            db.session.commit()
            now = utcnow()
            values = [{"carrier": "zto", "tracking_number": f"TC{i:012d}", "provider": "sandbox", "program_id": program,
                       "organisation_id": org, "channel": "douyin", "direction": "outbound",
                       "origin_division_code": "330681108", "destination_province_code": "310000", "pieces": 1,
                       "registered_at": now, "status": "pending", "at_station": False, "poll_failures": 0,
                       "subscription_state": "none", "created_at": now, "updated_at": now} for i in range(rows)]
            triggers = db.session.execute(text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'shipments'")).all()
            for _ in range(runs):
                for label in samples:
                    if label == "without triggers":
                        for name, _sql in triggers:
                            db.session.execute(text(f"DROP TRIGGER {name}"))
                    started = time.perf_counter()
                    db.session.execute(insert(Shipment), values)
                    samples[label].append((time.perf_counter() - started) * 1000)
                    db.session.rollback()  # DDL is transactional on SQLite: the triggers come back
            db.engine.dispose()
    return {label: statistics.median(v) for label, v in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--naive-runs", type=int, default=3)
    parser.add_argument("--sqlite-only", action="store_true", help="only the SQLite trigger cost")
    parser.add_argument("--no-trigger-cost", action="store_true", help="skip the trigger cost measurement")
    args = parser.parse_args()
    if args.sqlite_only:
        cost = sqlite_trigger_cost()
        print(f"SQLite executemany INSERT of 20,000 shipments: {cost['with triggers']:.0f} ms with triggers, "
              f"{cost['without triggers']:.0f} ms without (x{cost['with triggers'] / cost['without triggers']:.2f})")
        return
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgresql"):
        sys.exit("BENCH_DATABASE_URL must be a postgresql+psycopg:// URL")
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "SCHEDULER_IN_PROCESS": False})
    with app.app_context():
        try:
            have = db.session.scalar(select(func.count()).select_from(Shipment))
        except Exception:  # noqa: BLE001 - a database without our schema yet
            db.session.rollback()
            have = None
        if args.regenerate or have is None or have < args.rows:
            if args.regenerate or have is None:
                db.session.remove()
                db.engine.dispose()
                reset_schema(url)
                upgrade()
                setup_reference(db.session)
                db.session.commit()
            print(f"generating {args.rows:,} shipments …", flush=True)
            generate(db.session, args.rows)
            started = time.perf_counter()
            buckets = reports.rebuild_rollups(db.session)
            db.session.commit()
            print(f"  rebuilt rollups: {buckets:,} fine buckets in {time.perf_counter() - started:.0f} s")
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        # The trigger-cost runs roll back 10^5-row inserts: their dead delta rows
        # slow every reader until vacuumed (autovacuum may be off on a bench server).
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE report_deltas"))
        session = db.session
        total = session.scalar(select(func.count()).select_from(Shipment))
        fine = session.scalar(text("SELECT count(*) FROM report_days"))
        coarse = session.scalar(text("SELECT count(*) FROM report_program_days"))
        dims = session.scalar(text("SELECT count(*) FROM report_program_dims"))
        print(f"shipments: {total:,}; report_days buckets: {fine:,}; report_program_days buckets: {coarse:,}; "
              f"report_program_dims buckets: {dims:,}")
        print(f"PostgreSQL: {session.scalar(text('SHOW server_version'))}")

        program = session.scalar(select(Program.id).order_by(Program.id))
        by_day = reports.ReportFilters(program_id=program, date_from=date(2026, 1, 1), date_to=date(2026, 12, 31))
        all_time = reports.ReportFilters()
        cases = [
            ("one program, by day, 2026", "day", (), by_day, CEILING_DAY_MS),
            ("all programs, by month, grouped by county", "month", ("county",), all_time, CEILING_MONTH_MS),
        ]
        print()
        print(f"{'report':44} {'rollup median':>14} {'ceiling':>8} {'ratio':>6} {'naive median':>13} {'speed-up':>9}")
        for label, period, group_by, filters, ceiling in cases:
            rollup_ms, rollup = timed(lambda: reports.volume_report(session, period, group_by, filters), args.runs)
            naive_ms, naive = timed(lambda: reports.volume_report_raw(session, period, group_by, filters),
                                    args.naive_runs)
            same = figures(rollup) == figures(naive)
            print(f"{label:44} {rollup_ms:11.1f} ms {ceiling:5.0f} ms {rollup_ms / ceiling:6.2f} "
                  f"{naive_ms:10.0f} ms {naive_ms / rollup_ms:8.0f}x  rows={len(rollup.rows)} same={same}")
            if not same:
                sys.exit("rollup and naive figures differ")
        by_month = reports.ReportFilters(program_id=program, date_from=date(2026, 1, 1), date_to=date(2026, 12, 31))
        dim_cases = [
            ("one program, by month, by carrier, 2026", "month", ("carrier",), by_month),
            ("all programs, by month, by status", "month", ("status",), all_time),
        ]
        print()
        print(f"{'report (one extra dimension)':44} {'router median':>14} {'table':>20} "
              f"{'report_days median':>19} {'naive median':>13}")
        for label, period, group_by, filters in dim_cases:
            grain = reports._grain(period, group_by, filters)
            table = reports.GRAINS.get(grain, reports.ReportProgramDim).__tablename__
            rollup_ms, rollup = timed(lambda: reports.volume_report(session, period, group_by, filters), args.runs)
            fine_ms, fine_report = timed(
                lambda: reports.volume_report_from(session, "fine", period, group_by, filters), args.naive_runs)
            naive_ms, naive = timed(lambda: reports.volume_report_raw(session, period, group_by, filters),
                                    args.naive_runs)
            same = figures(rollup) == figures(naive) == figures(fine_report)
            print(f"{label:44} {rollup_ms:11.1f} ms {table:>20} {fine_ms:16.0f} ms {naive_ms:10.0f} ms "
                  f"x{naive_ms / rollup_ms:.0f} vs naive, x{fine_ms / rollup_ms:.0f} vs report_days  "
                  f"rows={len(rollup.rows)} same={same}")
            if not same:
                sys.exit("rollup and naive figures differ")
        session.rollback()
        if args.no_trigger_cost:
            return
        print()
        cost = trigger_cost(session)
        with_t, without = cost["with triggers"], cost["without triggers"]
        print("trigger cost (100,000 rows, one statement, median of 5 interleaved runs, rolled back):")
        print(f"  bulk INSERT: {with_t['insert']:.0f} ms with triggers, {without['insert']:.0f} ms without "
              f"(x{with_t['insert'] / without['insert']:.2f})")
        print(f"  bulk UPDATE status: {with_t['update']:.0f} ms with triggers, {without['update']:.0f} ms without "
              f"(x{with_t['update'] / without['update']:.2f})")
        print(f"  fold of the deltas those wrote: {with_t['fold']:.0f} ms")


if __name__ == "__main__":
    main()
