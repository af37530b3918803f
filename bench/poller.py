"""Poller throughput against a carrier quota.

A fake carrier on a real socket answers every request after 100 ms and
records when each request arrived, by two clocks: the kernel's receive time
(SO_TIMESTAMPNS: when the poller's write reached the socket, as a real carrier
on another machine would count it) and its handler thread's clock (what the
fake saw after its own scheduling delay). The fake runs in a process of its
own at real-time priority (SCHED_FIFO, as root) so the instrument is not the
thing under load; the poller and the CPU hogs stay at normal priority. The poller (`python -m tests.poll_process`,
the function behind `flask poll --once`) gets a quota of Q requests/second for
that provider and enough due shipments for about DURATION seconds. Printed:
achieved request rate, its ratio to Q (target ≥ 0.90), the most requests the
carrier saw in any one-second window by the kernel's clock (must be ≤ Q; the
handler's clock printed beside it), shipments/second (batches
as the provider allows), and the poller's CPU seconds per 1,000 shipments
polled (its process's user+sys time, minus an idle cycle measured in the same
run: interpreter start, app, database connection).

    python bench/poller.py                       # SQLite file, one process
    python bench/poller.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    python bench/poller.py --redis-url redis://127.0.0.1:6379/2   # + two processes sharing one quota
    python bench/poller.py ... --cpu-hog 2 --runs 5   # with 2 busy-loop processes competing for the CPUs
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes import kuaidi100 as k100  # noqa: E402
from tests.fakes import seventeentrack as st  # noqa: E402
from tests.fakes.recording import CarrierProcess  # noqa: E402
from tests.polling_support import finish, fresh_database, seed_due, start_poll_process  # noqa: E402

LATENCY = 0.100


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


CARRIER_PRIORITY = {"realtime": True}  # --carrier-priority normal: the fake as busy as everything else


def scenario(name, provider, quota, duration, database_url, *, processes=1, redis_url=None, threads=8, slack=None):
    if provider == "kuaidi100":
        fake = lambda: k100.Kuaidi100Fake(latency=LATENCY, lock_after=10**6)  # noqa: E731 - built in its process
        batch, carrier, numbers_of = 1, "yto", (lambda i: f"YT9{i:012d}")
        settings = {"KUAIDI100_KEY": k100.KEY, "KUAIDI100_CUSTOMER": k100.CUSTOMER, "KUAIDI100_SALT": k100.SALT}
        url_key = "KUAIDI100_URL"
    else:
        # The 17TRACK fake also enforces the quota itself: anything above Q gets HTTP 429.
        fake = lambda: st.SeventeenTrackFake(latency=LATENCY, rate_limit_per_sec=quota)  # noqa: E731
        batch, carrier, numbers_of = 40, "chinapost", (lambda i: f"98{i:011d}")
        settings = {"SEVENTEENTRACK_TOKEN": st.TOKEN}
        url_key = "SEVENTEENTRACK_URL"
    carrier_process = CarrierProcess(fake, priority=CARRIER_PRIORITY["realtime"])
    url = carrier_process.url
    shipments = int(quota * batch * duration)
    try:
        with fresh_database(database_url, prefix="yx_poll_bench") as db_url:
            seed_due(db_url, [numbers_of(i) for i in range(shipments)], carrier=carrier, provider=provider)
            config = {"DATABASE_URL": db_url, "SECRET_KEY": "bench", "SCHEDULER_IN_PROCESS": False, url_key: url,
                      **settings, "POLL_RATE": {provider: quota}, "POLL_CYCLE_SECONDS": duration * 4 + 30,
                      "POLL_THREADS": threads, "POLL_HTTP_TIMEOUT": 5, "REDIS_URL": redis_url,
                      "QUOTA_NAMESPACE": f"bench-{os.getpid()}-{time.time_ns()}"}
            if slack is not None:
                config["POLL_RATE_SLACK"] = slack
            cpu_before = children_cpu()
            idle = finish(start_poll_process({**config, "POLL_RATE": {provider: quota}, "DATABASE_URL": db_url,
                                              "KUAIDI100_KEY": None, "SEVENTEENTRACK_TOKEN": None}))
            idle_cpu = children_cpu() - cpu_before
            assert idle["polled"] == 0
            cpu_before = children_cpu()
            started = time.monotonic()
            summaries = [finish(p, timeout=duration * 6 + 60) for p in
                         [start_poll_process(config) for _ in range(processes)]]
            wall = time.monotonic() - started
            cpu = children_cpu() - cpu_before - processes * idle_cpu
    finally:
        arrivals = carrier_process.stop()
    polled = sum(s["polled"] for s in summaries)
    failed = sum(s["failed"] for s in summaries)
    rate = arrivals.rate("kernel")
    peak = arrivals.peak("kernel")
    row = {
        "scenario": name, "Q": quota, "batch": batch, "processes": processes, "shipments": shipments,
        "polled": polled, "failed": failed, "requests": len(arrivals), "http_429": arrivals.statuses[429],
        "rate": rate, "ratio": rate / quota, "peak_1s": peak, "peak_handler": arrivals.peak("handler"),
        "unstamped": arrivals.unstamped, "threads": summaries[0].get("threads", threads),
        "shipments_per_s": polled / wall,
        "cpu_per_1000": cpu / max(polled, 1) * 1000, "idle_cpu": idle_cpu, "wall": wall,
    }
    if arrivals.unstamped:
        print(f"  ({arrivals.unstamped} requests without a kernel receive time: counted at the handler's)")
    ok = row["ratio"] >= 0.90 and peak <= quota and polled == shipments and failed == 0 and not row["http_429"]
    row["verdict"] = "PASS" if ok else "FAIL"
    return row


def _spin() -> None:
    while True:
        pass


def start_hogs(n: int) -> list:
    """n processes that only burn CPU (same priority as the poller), to show scheduling delay."""
    import multiprocessing

    hogs = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(n)]
    for hog in hogs:
        hog.start()
    return hogs


def calibration(quota: int, duration: float, slack: float) -> dict:
    """The ceiling of this machine: an ideal client (no database, no provider code) sending
    exactly every (1 + slack)/Q seconds from 8 threads; its peak shows the jitter alone."""
    import threading

    import requests

    carrier_process = CarrierProcess(lambda: k100.Kuaidi100Fake(latency=LATENCY), priority=CARRIER_PRIORITY["realtime"])
    url = carrier_process.url
    count = int(quota * duration)
    start = time.monotonic() + 0.2
    gap = (1 + slack) / quota

    def worker(first):
        session = requests.Session()
        for i in range(first, count, 8):
            delay = start + i * gap - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            session.post(url + "/poll/query.do", data={"x": str(i)})
        session.close()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    arrivals = carrier_process.stop()
    return {"rate": arrivals.rate("kernel"), "peak": arrivals.peak("kernel"), "peak_handler": arrivals.peak("handler"),
            "scheduling": carrier_process.scheduling}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="PostgreSQL server URL (a fresh database is created on it); default: SQLite file")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL"),
                        help="adds a run of two processes sharing the quota through Redis")
    parser.add_argument("--duration", type=float, default=15, help="seconds of work per scenario at the quota")
    parser.add_argument("--cpu-hog", type=int, default=0, help="busy-loop processes running during every scenario")
    parser.add_argument("--runs", type=int, default=1, help="repeat every scenario (median and range printed)")
    parser.add_argument("--slack", type=float, default=None,
                        help="POLL_RATE_SLACK for the poller (default: the app's, shipments/config.py)")
    parser.add_argument("--carrier-priority", choices=("realtime", "normal"), default="realtime",
                        help="the fake carrier's scheduling: realtime (like a machine of its own) or normal"
                             " (as loaded as the poller: its handler clock then shows its own delay)")
    args = parser.parse_args()
    CARRIER_PRIORITY["realtime"] = args.carrier_priority == "realtime"
    runs = [
        ("kuaidi100, one number per request", "kuaidi100", 20, {}),
        ("kuaidi100, one number per request", "kuaidi100", 50, {}),
        ("17track, batches of 40", "17track", 3, {}),
    ]
    if args.redis_url:
        if not args.database_url:
            parser.error("--redis-url needs --database-url (several processes)")
        runs.append(("kuaidi100, 2 processes, shared Redis quota", "kuaidi100", 20,
                     {"processes": 2, "redis_url": args.redis_url}))
    from shipments.config import DEFAULTS

    slack = DEFAULTS["POLL_RATE_SLACK"] if args.slack is None else args.slack
    print(f"database: {'PostgreSQL' if args.database_url else 'SQLite'}; carrier latency {LATENCY * 1000:.0f} ms;"
          f" {args.duration:g} s of work per run; CPU hogs: {args.cpu_hog}; runs: {args.runs}; POLL_RATE_SLACK {slack:g}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    print("peak/1s: most requests in any 1-s window by the kernel's receive time (the carrier's clock);"
          " handler: the same by the fake's handler thread")
    hogs = start_hogs(args.cpu_hog)
    header = (f"{'scenario':44} {'Q':>4} {'procs':>5} {'thr':>3} {'polled':>7} {'req/s':>7} {'ratio':>6} {'peak/1s':>8}"
              f" {'handler':>7} {'ship/s':>7} {'CPU s/1000':>10}  verdict")
    print(header)
    rows = []
    summary = {}
    for _ in range(args.runs):
        for name, provider, quota, extra in runs:
            row = scenario(name, provider, quota, args.duration, args.database_url, slack=args.slack, **extra)
            rows.append(row)
            summary.setdefault((name, quota), []).append(row)
            print(f"{row['scenario']:44} {row['Q']:>4} {row['processes']:>5} {row['threads']:>3} {row['polled']:>7}"
                  f" {row['rate']:>7.2f}"
                  f" {row['ratio']:>6.3f} {row['peak_1s']:>8} {row['peak_handler']:>7} {row['shipments_per_s']:>7.1f}"
                  f" {row['cpu_per_1000']:>10.2f}  {row['verdict']}", flush=True)
    ideal = calibration(20, args.duration, slack)
    if args.runs > 1:
        import statistics

        print()
        print(f"{'scenario (median and range over runs)':44} {'Q':>4} {'ratio':>19} {'of ceiling':>10}"
              f" {'peak/1s':>14} {'handler':>14}  verdicts")
        for (name, quota), done in summary.items():
            ratios = [r["ratio"] for r in done]
            peaks = [r["peak_1s"] for r in done]
            handler = [r["peak_handler"] for r in done]
            of_ceiling = statistics.median(ratios) / (ideal["rate"] / 20)
            print(f"{name:44} {quota:>4} {statistics.median(ratios):6.3f} ({min(ratios):.3f}–{max(ratios):.3f})"
                  f" {of_ceiling:>10.3f} {statistics.median(peaks):4.0f} (max {max(peaks):>3})"
                  f" {statistics.median(handler):4.0f} (max {max(handler):>3})"
                  f"  {sum(r['verdict'] == 'PASS' for r in done)}/{len(done)} PASS")
    print(f"{'ceiling: ideal paced client, no DB (jitter only)':44} {20:>4} {'-':>5} {8:>3} {'-':>7}"
          f" {ideal['rate']:>7.2f} {ideal['rate'] / 20:>6.3f} {ideal['peak']:>8} {ideal['peak_handler']:>7}")
    print(f"fake carrier ran at {ideal['scheduling']}; poller processes and CPU hogs at normal priority")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    for hog in hogs:
        hog.terminate()
    print("targets: ratio >= 0.90, peak/1s <= Q, every shipment polled once, no HTTP 429")
    return 0 if all(r["verdict"] == "PASS" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
