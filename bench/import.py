"""Bulk import benchmark: 100,000 shipments through POST /api/v1/shipments/bulk
into PostgreSQL, beside a COPY of the same rows in the same run.

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/yx_bench python bench/import.py [--rows N] [--profile]

The database is emptied and migrated first. Target: ≥ 0.25 × COPY rows/s.
"""
import argparse
import cProfile
import io
import os
import pstats
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from werkzeug.datastructures import FileStorage  # noqa: E402
from werkzeug.test import encode_multipart  # noqa: E402

from shipments import create_app  # noqa: E402
from shipments.db import utcnow  # noqa: E402
from shipments.extensions import db  # noqa: E402
from shipments.models import Organisation, Shipment  # noqa: E402
from shipments.models.enums import OrganisationKind, Role  # noqa: E402
from shipments.services import access, reference  # noqa: E402

HEADER = "运单号,快递公司,手机尾号,项目,渠道,目的省份,件数,重量,金额,订单号"
PROVINCES = ["广东省", "浙江", "440000", "上海市", "北京"]
CHANNELS = ["抖音", "快手", "淘宝", "拼多多", "wechat"]
CHANNEL_VALUES = ["douyin", "kuaishou", "taobao", "pinduoduo", "wechat"]
PROVINCE_CODES = ["440000", "330000", "440000", "310000", "110000"]


def rows(n: int):
    for i in range(n):
        yield (f"SBX{7_000_000_000 + i:010d}", f"{i % 10000:04d}", i % 5, 1 + i % 3, f"{(i % 50) / 10:.1f}",
               f"{i % 1000}.50", f"DY{i}")


def csv_payload(n: int) -> bytes:
    lines = [HEADER] + [f"{num},sandbox,{phone},,{CHANNELS[k]},{PROVINCES[k]},{pieces},{w},{v},{ref}"
                        for num, phone, k, pieces, w, v, ref in rows(n)]
    return "\r\n".join(lines).encode("utf-8")


def reset(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true", help="print the top functions of the import")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/yx_api_bench")
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
        db.session.commit()

    payload = csv_payload(args.rows)
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(payload), "bench.csv")})
    client = app.test_client()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    response = client.post("/api/v1/shipments/bulk", data=body, headers={"Authorization": f"Bearer {token}"},
                           content_type=f"multipart/form-data; boundary={boundary}")
    if profiler:
        profiler.disable()
    api_seconds = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = response.json
    assert response.status_code == 200 and report["created"] == args.rows, (response.status_code, report)

    # The same rows by COPY into the same table (after emptying it), same columns.
    with app.app_context():
        db.session.execute(text("TRUNCATE shipments CASCADE"))
        db.session.commit()
        now = utcnow()
        columns = ("carrier", "tracking_number", "provider", "organisation_id", "channel", "direction",
                   "origin_division_code", "destination_province_code", "pieces", "weight_kg", "declared_value",
                   "order_ref", "phone_last4", "registered_at", "status", "at_station", "next_poll_at",
                   "poll_failures", "subscription_state", "created_at", "updated_at")
        raw = db.engine.raw_connection()
        started = time.perf_counter()
        with raw.cursor() as cursor:
            with cursor.copy(f"COPY shipments ({', '.join(columns)}) FROM STDIN") as copy:
                for num, phone, k, pieces, w, v, ref in rows(args.rows):
                    copy.write_row(("sandbox", num, "sandbox", org_id, CHANNEL_VALUES[k], "outbound", "330681",
                                    PROVINCE_CODES[k], pieces, w, v, ref, phone, now, "pending", False, now, 0,
                                    "none", now, now))
        raw.commit()
        copy_seconds = time.perf_counter() - started
        raw.close()
        copied = db.session.scalar(select(func.count()).select_from(Shipment))
        assert copied == args.rows

    api_rate, copy_rate = args.rows / api_seconds, args.rows / copy_seconds
    print(f"rows: {args.rows}  (CSV upload {len(payload) / 1e6:.1f} MB)")
    print(f"bulk endpoint: {api_seconds:6.2f} s  {api_rate:9,.0f} rows/s")
    print(f"COPY         : {copy_seconds:6.2f} s  {copy_rate:9,.0f} rows/s")
    print(f"ratio        : {api_rate / copy_rate:.2f} × COPY (target ≥ 0.25)")
    print(f"peak RSS     : {rss_after / 1024:.0f} MB (before the request: {rss_before / 1024:.0f} MB)")
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
