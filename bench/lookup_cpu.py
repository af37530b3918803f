"""CPU time per request in this process (Flask test client, no HTTP, no gunicorn) for the paths
bench/lookup.sh drives: /livez, the shipment detail (an official's token), the public track API with
the right and with wrong phone digits, over random parcels of a bench/scale.py database. Also counts
the SQL statements and Redis commands per request. Process CPU time is what the neighbours on a shared
box disturb least; the database server's CPU for this process's statements is read from /proc (local
server only, 10 ms ticks: use enough requests); wall time per request is printed too.

    BENCH_REDIS_URL=redis://127.0.0.1:6379/9 python bench/lookup_cpu.py            # 1M database
    python bench/lookup_cpu.py --size 10000000 --requests 1000 --rounds 5
    python bench/lookup_cpu.py --profile detail      # cProfile (CPU time) of one path
    python bench/lookup_cpu.py --explain 200         # pages read and execution time of the statements
                                                     # each path sends (EXPLAIN ANALYZE BUFFERS), per request
"""
import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CARRIERS = ("sf", "zto", "yto", "sto", "yunda", "jt", "ems", "chinapost")  # as bench/random_path.lua


def database_url(size: int) -> str:
    name = f"yx_bench_scale_{size // 1_000_000}m" if size % 1_000_000 == 0 else f"yx_bench_scale_{size // 1000}k"
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def paths(kind: str, size: int, n: int, rng: random.Random) -> list[str]:
    out = []
    for _ in range(n):
        g = rng.randint(1, size)
        number = f"YX{g:011d}"
        if kind == "livez":
            out.append("/livez")
        elif kind == "detail":
            out.append(f"/api/v1/shipments/{CARRIERS[(g * 7) % 8]}/{number}")
        elif kind == "track":
            out.append(f"/api/v1/track/{number}?phone_last4={g % 10000:04d}")
        else:  # track with wrong digits
            out.append(f"/api/v1/track/{number}?phone_last4={(g + 1) % 10000:04d}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=1000, help="per path per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", choices=["livez", "detail", "track", "wrong"], default=None)
    parser.add_argument("--explain", type=int, default=0, metavar="N", help="EXPLAIN the statements of N requests")
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", database_url(args.size))
    os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ["SCHEDULER_IN_PROCESS"] = "0"
    from sqlalchemy import event

    from bench.bench_wsgi import app
    from shipments.extensions import db, limiter
    from shipments.services import access

    with app.app_context():
        org = access.find_organisation(db.session, "绍兴市邮政管理局")
        token = access.create_token(db.session, org, "official", name="lookup-cpu-bench")
        db.session.commit()
        engine = db.engine
    statements = [0]
    sent = []  # (statement, parameters) while --explain records

    backends = set()  # the PostgreSQL server processes this process's statements ran in

    def count(conn, cursor, statement, parameters, context, executemany):
        statements[0] += 1
        sent.append((statement, parameters))
        backends.add(conn.connection.dbapi_connection.info.backend_pid)
    event.listen(engine, "before_cursor_execute", count)
    redis_calls = [0]
    storage = limiter.storage
    if hasattr(storage, "get_connection"):
        connection = storage.get_connection()
        pool = connection.connection_pool
        original = pool.get_connection

        def counting(*a, **k):
            redis_calls[0] += 1
            return original(*a, **k)
        pool.get_connection = counting

    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(11)
    kinds = ["livez", "detail", "track", "wrong"]
    try:
        for kind in kinds:  # warm up: connections, statement caches
            for path in paths(kind, args.size, 50, rng):
                client.get(path, headers=headers)
        if args.explain:
            explain(engine, client, headers, sent, args, rng)
            return
        if args.profile:
            import cProfile
            import pstats

            batch = paths(args.profile, args.size, args.requests, rng)
            profiler = cProfile.Profile(time.process_time)  # CPU, not waits
            profiler.enable()
            for path in batch:
                client.get(path, headers=headers)
            profiler.disable()
            stats = pstats.Stats(profiler)
            by_package = {}
            for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():
                parts = filename.split("site-packages/")
                package = parts[1].split("/")[0] if len(parts) > 1 else (
                    "shipments" if "/shipments/" in filename else "python" if "/lib/python" in filename else filename)
                by_package[package] = by_package.get(package, 0) + tottime
            print("own CPU time by package, ms per request (profiled: inflated, compare shares):")
            for package, seconds in sorted(by_package.items(), key=lambda kv: -kv[1])[:14]:
                print(f"  {package:40} {seconds / len(batch) * 1000:8.3f}")
            stats.sort_stats("cumulative").print_stats(45)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
            if os.environ.get("CALLERS"):
                pstats.Stats(profiler).print_callers(os.environ["CALLERS"])
            return
        results = {kind: [] for kind in kinds}
        for _ in range(args.rounds):
            for kind in kinds:
                batch = paths(kind, args.size, args.requests, rng)
                statements[0] = redis_calls[0] = 0
                codes = set()
                server = server_cpu(backends)
                wall, cpu = time.perf_counter(), time.process_time()
                for path in batch:
                    codes.add(client.get(path, headers=headers).status_code)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                server = server_cpu(backends) - server
                results[kind].append((cpu / len(batch) * 1000, wall / len(batch) * 1000,
                                      statements[0] / len(batch), redis_calls[0] / len(batch), codes,
                                      server / len(batch) * 1000))
        print(f"database {engine.url.database}; {args.rounds} rounds × {args.requests} random requests per path; "
              f"limits in {os.environ['REDIS_URL']}")
        print(f"{'path':8} {'CPU ms/req median (range)':>28} {'PostgreSQL CPU ms/req':>22} {'wall ms/req':>12} "
              f"{'statements':>11} {'redis':>6}  codes")
        for kind in kinds:
            rows = results[kind]
            cpu = [r[0] for r in rows]
            wall = [r[1] for r in rows]
            codes = sorted(set().union(*(r[4] for r in rows)))
            server = [r[5] for r in rows]
            print(f"{kind:8} {statistics.median(cpu):>12.3f} ({min(cpu):.3f}–{max(cpu):.3f}) "
                  f"{statistics.median(server):>10.3f} ({min(server):.2f}–{max(server):.2f}) "
                  f"{statistics.median(wall):>12.3f} {statistics.median(r[2] for r in rows):>11.2f} "
                  f"{statistics.median(r[3] for r in rows):>6.2f}  {codes}")
    finally:
        with app.app_context():
            access.revoke_token(db.session, token[:10])
            db.session.commit()


def server_cpu(pids) -> float:
    """User + system CPU seconds the given local PostgreSQL server processes have used (/proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / ticks


def explain(engine, client, headers, sent, args, rng) -> None:
    """Per request: the buffers (pages) its statements touched and their execution time, from EXPLAIN."""
    print(f"database {engine.url.database}; EXPLAIN (ANALYZE, BUFFERS) of each statement of {args.explain} "
          f"random requests per path, summed per request")
    print(f"{'path':8} {'pages median (range)':>22} {'exec ms median (p90), warm':>28}")
    for kind in ("detail", "track", "wrong"):
        pages, times = [], []
        for path in paths(kind, args.size, args.explain, rng):
            sent.clear()
            client.get(path, headers=headers)
            recorded = [(s, p) for s, p in sent if not s.lstrip().upper().startswith("EXPLAIN")]
            total_pages = total_ms = 0
            with engine.connect() as connection:
                for statement, parameters in recorded:
                    plan = connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement,
                                                      parameters).scalar()[0]
                    top = plan["Plan"]
                    total_pages += top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)
                    total_ms += plan["Execution Time"]
                connection.rollback()
            pages.append(total_pages)
            times.append(total_ms)
        times.sort()
        print(f"{kind:8} {statistics.median(pages):>10.0f} ({min(pages)}–{max(pages)}) "
              f"{statistics.median(times):>20.3f} ({times[int(len(times) * 0.9)]:.3f})")


if __name__ == "__main__":
    main()
