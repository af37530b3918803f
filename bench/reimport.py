"""Re-import benchmark (issue 15): a fresh bulk upload of N rows, the same file again, and a
retry after the database connection is cut half way, into PostgreSQL.

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/yx_hardening_bench \
        python bench/reimport.py [--rows 95000] [--profile]

Targets: the re-upload within 2 × the fresh import; after a cut, re-uploading the same file
completes it (every row registered once) within 2 × fresh; reconcile finds no difference.
"""
import argparse
import cProfile
import io
import os
import pstats
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from werkzeug.datastructures import FileStorage  # noqa: E402
from werkzeug.test import encode_multipart  # noqa: E402

from shipments import create_app  # noqa: E402
from shipments.extensions import db  # noqa: E402
from shipments.models import Organisation, Shipment  # noqa: E402
from shipments.models.enums import OrganisationKind, Role  # noqa: E402
from shipments.services import access, reference, reports  # noqa: E402

import importlib  # noqa: E402

bench_import = importlib.import_module("import")


def post(client, token, body, boundary):
    """Upload; (response, seconds until the import is done, following a 202 to its end)."""
    started = time.perf_counter()
    response = client.post("/api/v1/shipments/bulk", data=body, headers={"Authorization": f"Bearer {token}"},
                           content_type=f"multipart/form-data; boundary={boundary}")
    answered = time.perf_counter() - started
    if response.status_code == 202:
        wait_for_job(client, token, response)
    post.answered = answered
    return response, time.perf_counter() - started


def wait_for_job(client, token, response, timeout=600):
    """Follow a 202 to its end; the final report."""
    if response.status_code != 202:
        return response.status_code, response.json
    url = response.json["status_url"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(url, headers={"Authorization": f"Bearer {token}"}).json
        if state["status"] != "running":
            return 200 if state["status"] == "done" else 500, state["report"]
        time.sleep(0.5)
    raise TimeoutError(url)


def prepare(url: str):
    """An emptied, migrated database with reference data and one member token; (app, token)."""
    bench_import.reset(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "SCHEDULER_IN_PROCESS": False,
                      "SESSION_COOKIE_SECURE": False})
    with app.app_context():
        upgrade()
        reference.load_divisions(db.session)
        reference.load_provinces(db.session)
        org = Organisation(name="基准测试合作社", kind=OrganisationKind.COOPERATIVE, county_code="330681")
        db.session.add(org)
        db.session.flush()
        token = access.create_token(db.session, org, Role.MEMBER)
        db.session.commit()
    return app, token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=95_000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/yx_hardening_bench")
    app, token = prepare(url)
    payload = bench_import.csv_payload(args.rows)
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(payload), "bench.csv")})
    client = app.test_client()

    response, fresh = post(client, token, body, boundary)
    status, report = wait_for_job(client, token, response)
    assert status == 200 and report["created"] == args.rows, (status, report)
    print(f"rows: {args.rows}")
    print(f"fresh import      : {fresh:6.2f} s (HTTP {response.status_code} after {post.answered:.2f} s)")

    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    response, again = post(client, token, body, boundary)
    if profiler:
        profiler.disable()
    status, report = wait_for_job(client, token, response)
    assert status == 200 and report["created"] == 0 and report["already_registered"] == args.rows, report
    print(f"same file again   : {again:6.2f} s (HTTP {response.status_code} after {post.answered:.2f} s)"
          f" = {again / fresh:.2f} × fresh")

    # Cut the connection half way: empty the table, start a fresh import, and terminate its
    # backend from outside once half the rows are in.
    engine = create_engine(url, connect_args={"application_name": "cutter"})
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE shipments CASCADE"))
        conn.execute(text("TRUNCATE report_deltas, report_days, report_program_days, report_program_months, "
                          "report_program_dims"))
    half = args.rows // 2
    cut = {}

    def cutter():
        # Once half the rows are in, kill the importing backend while a chunk is in flight.
        while True:
            with engine.begin() as conn:
                count = conn.execute(text("SELECT count(*) FROM shipments")).scalar()
                if count >= half:
                    killed = conn.execute(text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                        "AND application_name <> 'cutter' AND state IN ('active', 'idle in transaction')")).scalar()
                    if killed:
                        cut["at"] = count
                        return
            time.sleep(0.01)

    thread = threading.Thread(target=cutter)
    thread.start()
    response, first = post(client, token, body, boundary)
    thread.join()
    with engine.begin() as conn:
        left = conn.execute(text("SELECT count(*) FROM shipments")).scalar()
    print(f"cut at            : {cut.get('at')} rows; the interrupted request answered HTTP {response.status_code}"
          f" after {first:.2f} s; {left} rows stored")
    response, retry = post(client, token, body, boundary)
    status, report = wait_for_job(client, token, response)
    assert status == 200, (status, report)
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Shipment))
        distinct = db.session.scalar(select(func.count(func.distinct(Shipment.tracking_number))))
        reports.refresh_rollups(db.session)
        db.session.commit()
        differences = reports.reconcile(db.session)
    print(f"retry after cut   : {retry:6.2f} s (HTTP {response.status_code} after {post.answered:.2f} s)"
          f" = {retry / fresh:.2f} × fresh;"
          f" created {report['created']}, already registered {report['already_registered']}")
    print(f"stored            : {total} rows ({distinct} distinct numbers); reconcile differences: {len(differences)}")
    assert total == distinct == args.rows and not differences
    if profiler:
        pstats.Stats(profiler).sort_stats("cumtime").print_stats(25)


if __name__ == "__main__":
    main()
