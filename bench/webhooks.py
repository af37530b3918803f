"""Webhook delivery: throughput with 100 ms receivers, CPU per 1,000 deliveries, change→delivery delay,
and (with --restarts) the 10,000-change exactly-once run with 5 worker restarts.

Receivers are WSGI apps on real sockets in this process (they verify every
signature and count event ids); the delivery worker is `python -m
tests.webhook_process`, the loop of `deliver_once` that `flask worker`'s
`webhook_deliveries` job runs, with its default settings (16 threads, 4 in
flight per subscriber) unless told otherwise. Status changes are applied here
through services/tracking (the path polls and pushes take), committed per 100.

1. Throughput: CHANGES status changes for RECEIVERS subscribers (each
   answering after 100 ms) are queued with no worker running; then one worker
   starts and the clock runs until the outbox is empty. Printed: deliveries/s,
   and the worker's CPU seconds (user+sys after start-up) per 1,000 deliveries.
2. Delay: a worker runs while changes are applied at RATE per second for
   DURATION seconds to 2 subscribers that answer at once; the delay of each
   delivery is its arrival at the receiver minus the time its change was
   written (the outbox row's created_at). Printed: p50, p99, max.
3. --restarts: 10,000 status changes (2,500 shipments × 4 steps) for 2
   subscribers while the worker is restarted 5 times (SIGTERM, as a deploy
   stops `flask worker`; --kill for SIGKILL): every event id at each receiver,
   how many arrived more than once, and the outbox totals.

    python bench/webhooks.py                                   # SQLite file
    python bench/webhooks.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    python bench/webhooks.py --database-url … --restarts [--kill]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from datetime import timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from shipments import create_app  # noqa: E402
from shipments.db import utcnow  # noqa: E402
from shipments.extensions import db  # noqa: E402
from shipments.models import Organisation, Shipment, WebhookDelivery  # noqa: E402
from shipments.models.enums import DeliveryState  # noqa: E402
from shipments.services.webhooks import subscriptions  # noqa: E402
from tests import test_webhooks_restarts as restarts  # noqa: E402
from tests.fakes.server import serve  # noqa: E402
from tests.fakes.webhook_receiver import Receiver  # noqa: E402
from tests.polling_support import fresh_database, seed_due  # noqa: E402
from tests.webhook_support import STEPS, apply_step  # noqa: E402

WORKER = {"SECRET_KEY": "bench", "SCHEDULER_IN_PROCESS": False, "WEBHOOK_ALLOW_PRIVATE": True}


def percentile(values, share):
    values = sorted(values)
    return values[min(len(values) - 1, int(share * len(values)))]


class Setup:
    """A fresh database with shipments and subscriptions to local receivers."""

    def __init__(self, url, receivers, shipments):
        self.url, self.receivers = url, receivers
        seed_due(url, [f"YT9{i:012d}" for i in range(shipments)])
        self.servers = [serve(r) for r in receivers]
        self.app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "SCHEDULER_IN_PROCESS": False,
                               "WEBHOOK_ALLOW_PRIVATE": True, "TESTING": True})
        with self.app.app_context():
            org = db.session.scalar(select(Organisation))
            for receiver, (base, _stop) in zip(receivers, self.servers):
                receiver.keep_requests = False
                _sub, receiver.secret = subscriptions.create_subscription(
                    db.session, org.id, url=base + "/hook", events=["shipment.status_changed"],
                    config=self.app.config, now=utcnow())
            db.session.commit()
            self.ids = list(db.session.scalars(select(Shipment.id).order_by(Shipment.id)))

    def apply(self, step, ids):
        """Apply STEPS[step] to these shipments (one status change each), committing per 100."""
        with self.app.app_context():
            for start in range(0, len(ids), 100):
                rows = db.session.scalars(select(Shipment).where(Shipment.id.in_(ids[start:start + 100]))).all()
                now = utcnow()
                for shipment in rows:
                    apply_step(db.session, shipment, step, now)
                db.session.commit()

    def left(self) -> int:
        with self.app.app_context():
            count = db.session.scalar(select(func.count()).select_from(WebhookDelivery)
                                      .where(WebhookDelivery.state != DeliveryState.DELIVERED))
            db.session.remove()
            return count

    def created_at(self) -> dict[str, float]:
        with self.app.app_context():
            rows = db.session.execute(select(WebhookDelivery.event_id, WebhookDelivery.created_at)).all()
            db.session.remove()
        return {event_id: created.replace(tzinfo=timezone.utc).timestamp() for event_id, created in rows}

    def close(self):
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()
        for _base, stop in self.servers:
            stop()


def wait_empty(setup, timeout=600):
    deadline = time.monotonic() + timeout
    while setup.left() and time.monotonic() < deadline:
        time.sleep(0.1)


def stop(worker):
    worker.send_signal(signal.SIGTERM)
    out, _err = worker.communicate(timeout=60)
    return json.loads(out.strip().splitlines()[-1])


def start(url, **settings):
    restarts.WORKER.update(WORKER)
    saved = dict(restarts.WORKER)
    for key in ("WEBHOOK_THREADS", "WEBHOOK_MAX_IN_FLIGHT", "WEBHOOK_IDLE_POLL_SECONDS", "WEBHOOK_CYCLE_SECONDS",
                "WEBHOOK_LEASE_SECONDS", "WEBHOOK_TIMEOUT"):
        restarts.WORKER.pop(key, None)  # the defaults of shipments/config.py
    restarts.WORKER.update(settings)
    try:
        return restarts.start_worker(url)
    finally:
        restarts.WORKER.clear()
        restarts.WORKER.update(saved)


def throughput(base_url, changes, receivers, latency):
    with fresh_database(base_url, prefix="yx_hookbench") as url:
        per = changes // receivers
        setup = Setup(url, [Receiver(delay=latency) for _ in range(receivers)], per)
        try:
            setup.apply(1, setup.ids)  # pending -> in_transit: `per` changes × `receivers` deliveries
            deliveries = per * receivers
            worker = start(url)
            started = time.monotonic()
            wait_empty(setup)
            elapsed = time.monotonic() - started
            totals = stop(worker)
            bad = sum(r.bad_signatures for r in setup.receivers)
            got = sum(sum(r.counts.values()) for r in setup.receivers)
        finally:
            setup.close()
    print(f"throughput: {deliveries} deliveries to {receivers} receivers answering after {latency * 1000:.0f} ms: "
          f"{elapsed:.1f} s, {deliveries / elapsed:.0f} deliveries/s; worker CPU "
          f"{totals['cpu_seconds'] / deliveries * 1000:.2f} s per 1,000 deliveries; "
          f"received {got}, bad signatures {bad}")


def delay(base_url, rate, duration):
    with fresh_database(base_url, prefix="yx_hookbench") as url:
        count = int(rate * duration)
        setup = Setup(url, [Receiver(), Receiver()], count)
        try:
            worker = start(url)
            started = time.monotonic()
            for i in range(0, count, max(1, int(rate // 10))):
                setup.apply(1, setup.ids[i:i + max(1, int(rate // 10))])
                pause = started + (i + rate // 10) / rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
            wait_empty(setup)
            stop(worker)
            created = setup.created_at()
        finally:
            setup.close()
    delays = []
    for receiver in setup.receivers:
        for event_id, arrived in receiver.arrival_of.items():
            delays.append((arrived - created[event_id]) * 1000)
    print(f"delay: {len(delays)} deliveries of {count} changes at {rate}/s for {duration} s to 2 receivers: "
          f"p50 {percentile(delays, 0.5):.0f} ms, p99 {percentile(delays, 0.99):.0f} ms, max {max(delays):.0f} ms")


def restart_run(base_url, shipments, kill):
    sig = signal.SIGKILL if kill else signal.SIGTERM
    with fresh_database(base_url, prefix="yx_hookbench") as url:
        started = time.monotonic()
        receivers, count, states = restarts.run_changes_with_restarts(url, shipments, sig, drain=1200)
        elapsed = time.monotonic() - started
    changes = shipments * len(STEPS)
    for n, receiver in enumerate(receivers, 1):
        repeats = sum(c - 1 for c in receiver.counts.values())
        print(f"restarts ({'SIGKILL' if kill else 'SIGTERM'}): receiver {n}: {len(receiver.counts)} of {changes} "
              f"event ids, {repeats} arrived more than once, bad signatures {receiver.bad_signatures}")
    print(f"restarts: {count} restarts, outbox {dict((k.value, v) for k, v in states.items())}, {elapsed:.0f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--changes", type=int, default=3000)
    parser.add_argument("--receivers", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.100)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--restarts", action="store_true", help="only the 10,000-change restart run")
    parser.add_argument("--kill", action="store_true", help="with --restarts: SIGKILL instead of SIGTERM")
    parser.add_argument("--shipments", type=int, default=2500, help="with --restarts: × 4 status changes")
    args = parser.parse_args()
    print(f"database: {(args.database_url or 'sqlite').split('@')[-1]}")
    if args.restarts:
        restart_run(args.database_url, args.shipments, args.kill)
        return
    throughput(args.database_url, args.changes, args.receivers, args.latency)
    delay(args.database_url, args.rate, args.duration)


if __name__ == "__main__":
    main()
