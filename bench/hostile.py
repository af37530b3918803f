"""Worker memory under the hostile-files suite (issue 15), measured on a real gunicorn -w 2.

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/yx_hardening_bench \
        python bench/hostile.py [--port 18610]

Each file goes to POST /api/v1/shipments/bulk while both workers' RSS is sampled every
5 ms from /proc; the table shows the answer and the largest growth of a worker above its
RSS just before the request. Target: never above +100 MB; a 100,000-row sheet ≤ +40 MB.
"""
import argparse
import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.hardening.conftest import far_cell_xlsx, inline_row, xlsx_bytes  # noqa: E402
from tests.hardening.test_hostile_files import HEADER as HEADER_ROW, HOSTILE  # noqa: E402


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def workers(master: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().split(") ", 1)[1].split()[1]) == master:
                    pids.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                pass
    return pids


def cases():
    for name, (build, *_rest) in HOSTILE.items():
        payload = build()
        yield name, payload, "x.xlsx" if payload[:2] == b"PK" else "x.csv"
    yield "far_cell_1.5KB", far_cell_xlsx("XFD1048576"), "x.xlsx"
    rows = (inline_row(i, [("A", f"SBX{8_100_000_000 + i:010d}"), ("B", "sandbox"), ("C", "1234")])
            for i in range(2, 100_002))
    yield "sheet_100k_rows", xlsx_bytes([HEADER_ROW] + list(rows), dimension="A1:C100001"), "big.xlsx"
    csv = "运单号,快递公司,手机尾号\n" + "".join(f"SBX{8_200_000_000 + i:010d},sandbox,1234\n" for i in range(100_000))
    yield "csv_100k_rows_utf16", csv.encode("utf-16"), "big.csv"
    yield "body_40MB_over_limit", b"number\n" + b"SBX0000000001\n" * 2_900_000, "huge.csv"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=18610)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/yx_hardening_bench")
    sys.path.insert(0, str(ROOT / "bench"))
    from reimport import prepare

    _app, token = prepare(url)
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "SESSION_COOKIE_SECURE": "0"}
    server = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "-w", "2", "--timeout", "30", "-b",
                               f"127.0.0.1:{args.port}", "wsgi:app"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{args.port}"
        for _ in range(100):
            try:
                requests.get(base + "/healthz", timeout=10)
                break
            except requests.RequestException:
                time.sleep(0.2)
        print(f"{'file':24} {'size':>9} {'answer':>7} {'seconds':>8} {'worker RSS growth':>18}")
        worst = 0.0
        for name, payload, filename in cases():
            pids = workers(server.pid)
            before = {pid: rss(pid) for pid in pids}
            peak = dict(before)
            done = threading.Event()

            def sample():
                while not done.wait(0.005):
                    for pid in pids:
                        try:
                            peak[pid] = max(peak[pid], rss(pid))
                        except OSError:
                            pass
            sampler = threading.Thread(target=sample)
            sampler.start()
            started = time.perf_counter()
            try:
                response = requests.post(base + "/api/v1/shipments/bulk", headers={"Authorization": f"Bearer {token}"},
                                         files={"file": (filename, io.BytesIO(payload))}, timeout=120)
                answer = str(response.status_code)
            except requests.RequestException as exc:
                answer = exc.__class__.__name__[:7]
            seconds = time.perf_counter() - started
            done.set()
            sampler.join()
            growth = max(peak[pid] - before[pid] for pid in pids) / 1e6
            worst = max(worst, growth)
            print(f"{name:24} {len(payload) / 1e6:7.2f}MB {answer:>7} {seconds:8.2f} {growth:15.1f} MB")
        print(f"worst growth: {worst:.1f} MB; workers now {[round(rss(p) / 1e6) for p in workers(server.pid)]} MB")
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
