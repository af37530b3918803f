"""Bulk import benchmark: 100,000 shipments as CSV and as XLSX through HTTP (gunicorn, 2 workers) into
PostgreSQL, beside COPY of the same rows into a plain unindexed table and into the real table, same run.

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/yx_api_bench python bench/import.py [--rows N] [--runs 5]

The database is emptied and migrated first; each run empties the shipments
(and the rollups) before each import. Printed per run and as median and
range: rows/s of each, the ratios (targets: ≥ 0.3 × COPY into a plain
table, ≥ 0.6 × COPY into the real table) and the peak RSS growth of the
gunicorn worker that served the upload, sampled every 10 ms DURING the
request (growth over that worker's RSS just before it).
"""
import argparse
import io
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, make_url, text  # noqa: E402

from shipments import create_app  # noqa: E402
from shipments.db import utcnow  # noqa: E402
from shipments.extensions import db  # noqa: E402
from shipments.models import Organisation  # noqa: E402
from shipments.models.enums import OrganisationKind, Role  # noqa: E402
from shipments.services import access, reference  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from scale import start_gunicorn, stop  # noqa: E402

HEADER = ["运单号", "快递公司", "手机尾号", "项目", "渠道", "目的省份", "件数", "重量", "金额", "订单号"]
PROVINCES = ["广东省", "浙江", "440000", "上海市", "北京"]
CHANNELS = ["抖音", "快手", "淘宝", "拼多多", "wechat"]
CHANNEL_VALUES = ["douyin", "kuaishou", "taobao", "pinduoduo", "wechat"]
PROVINCE_CODES = ["440000", "330000", "440000", "310000", "110000"]
COLUMNS = ("carrier", "tracking_number", "provider", "organisation_id", "channel", "direction",
           "origin_division_code", "destination_province_code", "pieces", "weight_kg", "declared_value",
           "order_ref", "phone_last4", "registered_at", "status", "at_station", "next_poll_at",
           "poll_failures", "subscription_state", "created_at", "updated_at")


def rows(n: int):
    for i in range(n):
        yield (f"SBX{7_000_000_000 + i:010d}", f"{i % 10000:04d}", i % 5, 1 + i % 3, f"{(i % 50) / 10:.1f}",
               f"{i % 1000}.50", f"DY{i}")


def csv_payload(n: int) -> bytes:
    lines = [",".join(HEADER)] + [f"{num},sandbox,{phone},,{CHANNELS[k]},{PROVINCES[k]},{pieces},{w},{v},{ref}"
                                  for num, phone, k, pieces, w, v, ref in rows(n)]
    return "\r\n".join(lines).encode("utf-8")


def xlsx_payload(n: int) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("运单")
    sheet.append(HEADER)
    for num, phone, k, pieces, w, v, ref in rows(n):
        sheet.append([num, "sandbox", phone, None, CHANNELS[k], PROVINCES[k], pieces, float(w), float(v), ref])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def reset(url: str) -> None:
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = make_url(url).database
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def workers(master: int) -> list[int]:
    with open(f"/proc/{master}/task/{master}/children") as children:
        return [int(p) for p in children.read().split()]


def upload(base: str, token: str, payload: bytes, name: str, pids: list[int]) -> tuple[float, float, dict]:
    """(seconds, peak RSS growth in MB of the busiest worker during the request, report)."""
    import requests

    before = {pid: rss_kb(pid) for pid in pids}
    peak = dict(before)
    done = threading.Event()

    def sample():
        while not done.is_set():
            for pid in pids:
                peak[pid] = max(peak[pid], rss_kb(pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    response = requests.post(base + "/api/v1/shipments/bulk", headers={"Authorization": f"Bearer {token}"},
                             files={"file": (name, payload)}, timeout=600)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if response.status_code != 200:
        sys.exit(f"upload {name}: {response.status_code} {response.text[:300]}")
    growth = max((peak[pid] - before[pid]) / 1024 for pid in pids)
    return seconds, growth, response.json()


def copy_rows(url: str, table: str, org_id: int, n: int) -> float:
    import psycopg

    now = utcnow()
    with psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)) as conn:
        started = time.perf_counter()
        with conn.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for num, phone, k, pieces, w, v, ref in rows(n):
                    copy.write_row(("sandbox", num, "sandbox", org_id, CHANNEL_VALUES[k], "outbound", "330681",
                                    PROVINCE_CODES[k], pieces, w, v, ref, phone, now, "pending", False, now, 0,
                                    "none", now, now))
        conn.commit()
        return time.perf_counter() - started


def empty(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE shipments, report_deltas, report_days, report_program_days, "
                          "report_program_months, report_program_dims, report_network_days, report_quality_days, "
                          "report_quality_months, report_quality_deltas, plain_shipments CASCADE"))
    engine.dispose()
    with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text("VACUUM ANALYZE shipments"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--port", type=int, default=18220)
    parser.add_argument("--reader-thread", choices=("on", "off"), default="on",
                        help="off: validate in the request's thread, not beside the writes (the A/B of issue 11)")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/yx_bench_import")
    reset(url)
    # IMPORT_SYNC_SECONDS: measure the whole import in the request (no 202 hand-over to the background).
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "SCHEDULER_IN_PROCESS": False,
                      "IMPORT_SYNC_SECONDS": 3600})
    with app.app_context():
        upgrade()
        reference.load_divisions(db.session)
        reference.load_provinces(db.session)
        org = Organisation(name="基准测试合作社", kind=OrganisationKind.COOPERATIVE, county_code="330681")
        db.session.add(org)
        db.session.flush()
        token = access.create_token(db.session, org, Role.MEMBER)
        org_id = org.id
        # The plain ceiling: the same columns and defaults, no index, constraint or trigger.
        db.session.execute(text("CREATE TABLE plain_shipments (LIKE shipments INCLUDING DEFAULTS)"))
        db.session.commit()
        db.engine.dispose()
    payloads = {"csv": csv_payload(args.rows), "xlsx": xlsx_payload(args.rows)}
    print(f"rows: {args.rows:,}; CSV {len(payloads['csv']) / 1e6:.1f} MB, XLSX {len(payloads['xlsx']) / 1e6:.1f} MB; "
          f"gunicorn -w 2; {args.runs} runs; reader thread {args.reader_thread}", flush=True)
    # The served app too: a loaded box can take longer than the default 20 s for 100,000 rows.
    os.environ["BENCH_IMPORT_SYNC_SECONDS"] = "3600"
    # … and gunicorn's 30 s worker timeout killed 100,000-row imports at load average 9 on 2 cores.
    os.environ.setdefault("GUNICORN_CMD_ARGS", "--timeout 900")
    os.environ["BENCH_IMPORT_READER_THREAD"] = "1" if args.reader_thread == "on" else "0"
    proc = start_gunicorn(make_url(url).database, args.port)
    base = f"http://127.0.0.1:{args.port}"
    results = {k: [] for k in ("csv", "xlsx", "copy_plain", "copy_real", "csv_rss", "xlsx_rss")}
    try:
        pids = workers(proc.pid)
        for run in range(args.runs):
            for kind in ("csv", "xlsx"):
                empty(url)
                seconds, growth, report = upload(base, token, payloads[kind], f"bench.{kind}", pids)
                assert report["created"] == args.rows, report
                results[kind].append(args.rows / seconds)
                results[f"{kind}_rss"].append(growth)
            empty(url)
            results["copy_plain"].append(args.rows / copy_rows(url, "plain_shipments", org_id, args.rows))
            results["copy_real"].append(args.rows / copy_rows(url, "shipments", org_id, args.rows))
            print(f"run {run + 1}: CSV {results['csv'][-1]:7,.0f} rows/s (+{results['csv_rss'][-1]:.0f} MB), "
                  f"XLSX {results['xlsx'][-1]:7,.0f} rows/s (+{results['xlsx_rss'][-1]:.0f} MB), "
                  f"COPY plain {results['copy_plain'][-1]:7,.0f}, COPY real {results['copy_real'][-1]:7,.0f} rows/s",
                  flush=True)
    finally:
        stop(proc)

    def fmt(values, unit=""):
        return f"{statistics.median(values):9,.2f}{unit} ({min(values):,.2f}–{max(values):,.2f})"

    print()
    print(f"median (range) over {args.runs} runs")
    for kind in ("csv", "xlsx"):
        plain = [a / b for a, b in zip(results[kind], results["copy_plain"])]
        real = [a / b for a, b in zip(results[kind], results["copy_real"])]
        print(f"{kind.upper():4} through HTTP: {fmt(results[kind])} rows/s; "
              f"{fmt(plain, '×')} COPY plain (target ≥ 0.3); {fmt(real, '×')} COPY real (target ≥ 0.6); "
              f"worker RSS growth during the request {fmt(results[kind + '_rss'], ' MB')}")
    print(f"COPY into a plain unindexed table: {fmt(results['copy_plain'])} rows/s")
    print(f"COPY into the real table (indexes, triggers): {fmt(results['copy_real'])} rows/s")


if __name__ == "__main__":
    main()
