"""Exactly once per change and subscriber, across worker restarts: real processes, real sockets, real commits.

Status changes are applied in this process (through services/tracking, the
path polls and pushes take) while a delivery process runs; the process is
restarted five times in between. The 10,000-change version is
`bench/webhooks.py --restarts`; this one keeps CI short with 1,000 changes.
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from shipments import create_app
from shipments.db import utcnow
from shipments.extensions import db
from shipments.models import Organisation, Shipment, WebhookDelivery
from shipments.models.enums import DeliveryState
from shipments.services.webhooks import subscriptions
from tests.fakes.server import serve
from tests.fakes.webhook_receiver import Receiver
from tests.polling_support import ROOT, fresh_database, seed_due
from tests.webhook_support import STEPS, apply_step

pytestmark = pytest.mark.slow

WORKER = {"SECRET_KEY": "test", "SCHEDULER_IN_PROCESS": False, "WEBHOOK_ALLOW_PRIVATE": True,
          "WEBHOOK_THREADS": 16, "WEBHOOK_MAX_IN_FLIGHT": 8, "WEBHOOK_IDLE_POLL_SECONDS": 0.05,
          "WEBHOOK_CYCLE_SECONDS": 5, "WEBHOOK_LEASE_SECONDS": 3, "WEBHOOK_TIMEOUT": 5}


def start_worker(url: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen([sys.executable, "-m", "tests.webhook_process", json.dumps({**WORKER, "DATABASE_URL": url})],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready", process.stderr.read()
    return process


def stop_worker(process: subprocess.Popen, sig=signal.SIGTERM) -> None:
    process.send_signal(sig)
    _out, err = process.communicate(timeout=30)
    if sig == signal.SIGTERM:
        assert process.returncode == 0, err[-3000:]


def run_changes_with_restarts(url: str, shipments: int, sig, drain: float = 120) -> tuple[list[Receiver], int, dict]:
    numbers = [f"YT8{i:012d}" for i in range(shipments)]
    seed_due(url, numbers)
    receivers = [Receiver(), Receiver()]
    servers = [serve(r) for r in receivers]
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "test", "SCHEDULER_IN_PROCESS": False,
                      "WEBHOOK_ALLOW_PRIVATE": True, "TESTING": True})
    try:
        with app.app_context():
            org = db.session.scalar(select(Organisation))
            for receiver, (base, _stop) in zip(receivers, servers):
                _sub, receiver.secret = subscriptions.create_subscription(
                    db.session, org.id, url=base + "/hook", events=["shipment.status_changed"], config=app.config,
                    now=utcnow())
            db.session.commit()
            ids = list(db.session.scalars(select(Shipment.id).order_by(Shipment.id)))
            # Every shipment walks through the four steps: shipments × 4 status changes in all.
            work = [(step, sid) for step in range(len(STEPS)) for sid in ids]
            size = -(-len(work) // 6)
            slices = [work[i:i + size] for i in range(0, len(work), size)]  # each shipment's steps in order
            worker = start_worker(url)
            restarts = 0
            for number, piece in enumerate(slices):
                for start in range(0, len(piece), 100):
                    chunk = piece[start:start + 100]
                    rows = {s.id: s for s in db.session.scalars(
                        select(Shipment).where(Shipment.id.in_([sid for _, sid in chunk])))}
                    now = utcnow()
                    for step, sid in chunk:
                        assert apply_step(db.session, rows[sid], step, now).status_changed
                    db.session.commit()
                if number < 5:
                    time.sleep(0.3)  # let it be mid-stream when it stops
                    stop_worker(worker, sig)
                    restarts += 1
                    worker = start_worker(url)
            deadline = time.monotonic() + drain
            while time.monotonic() < deadline:
                left = db.session.scalar(select(func.count()).select_from(WebhookDelivery)
                                         .where(WebhookDelivery.state != DeliveryState.DELIVERED))
                db.session.rollback()
                if left == 0:
                    break
                time.sleep(0.2)
            stop_worker(worker)
            states = dict(db.session.execute(select(WebhookDelivery.state, func.count())
                                             .group_by(WebhookDelivery.state)).all())
            db.session.remove()
            db.engine.dispose()
    finally:
        for _base, stop in servers:
            stop()
    return receivers, restarts, states


@pytest.fixture
def database():
    with fresh_database(os.environ.get("TEST_DATABASE_URL"), prefix="yx_hooks") as url:
        yield url


def test_1000_changes_with_5_worker_restarts_are_delivered_exactly_once_per_subscriber(database):
    receivers, restarts, states = run_changes_with_restarts(database, 250, signal.SIGTERM)
    changes = 250 * len(STEPS)
    assert restarts == 5
    assert states == {DeliveryState.DELIVERED: 2 * changes}
    assert receivers[0].counts.keys() == receivers[1].counts.keys()
    for receiver in receivers:
        assert len(receiver.counts) == changes  # every change arrived ...
        assert set(receiver.counts.values()) == {1}  # ... exactly once
        assert len(receiver.requests) == changes and receiver.bad_signatures == 0


def test_killed_workers_lose_nothing_and_resend_only_what_was_in_flight(database):
    receivers, restarts, states = run_changes_with_restarts(database, 100, signal.SIGKILL)
    changes = 100 * len(STEPS)
    assert restarts == 5
    assert states == {DeliveryState.DELIVERED: 2 * changes}
    for receiver in receivers:
        assert len(receiver.counts) == changes  # every change arrived at least once
        # A kill can only repeat what was in flight (at most 8 per subscriber per kill), with the same
        # event id: a receiver that deduplicates on X-Yuexiang-Event-Id sees each change once.
        assert sum(receiver.counts.values()) - changes <= 8 * restarts


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="row locks are PostgreSQL's")
def test_changes_being_committed_do_not_hide_their_subscriber_from_the_claim(database):
    """An outbox insert holds a KEY SHARE lock on its subscription (the foreign key) until it commits;
    the claim must not skip that subscriber, or a steady stream of changes would starve it."""
    from sqlalchemy import create_engine, text

    from shipments.services.webhooks import delivery, outbox
    app = create_app({"DATABASE_URL": database, "SECRET_KEY": "test", "SCHEDULER_IN_PROCESS": False,
                      "WEBHOOK_ALLOW_PRIVATE": True, "TESTING": True})
    seed_due(database, ["YT8000000000001", "YT8000000000002"])
    with app.app_context():
        org = db.session.scalar(select(Organisation))
        subscription, _ = subscriptions.create_subscription(
            db.session, org.id, url="http://127.0.0.1:9/hook", events=["shipment.status_changed"],
            config=app.config, now=utcnow())
        first, second = db.session.scalars(select(Shipment).order_by(Shipment.id)).all()
        apply_step(db.session, first, 1, utcnow())
        db.session.commit()
        sid, second_id = subscription.id, second.id
        db.session.remove()
    other = create_engine(database)
    try:
        with other.connect() as writer:  # a change being written, not yet committed
            writer.execute(text("BEGIN"))
            writer.execute(outbox._INSERT["postgresql"], [{
                "subscription_id": sid, "event_id": "evt_uncommitted", "event": "shipment.status_changed",
                "shipment_id": second_id, "payload": "{}", "occurred_at": utcnow(), "created_at": utcnow(),
                "state": "pending", "attempts": 0, "next_attempt_at": utcnow()}])
            with app.app_context():
                claims = delivery.claim_due_deliveries(db.session, owner="t", now=utcnow(), limit=10,
                                                       per_subscriber=4, lease_seconds=60)
                db.session.rollback()
                db.session.remove()
                db.engine.dispose()
            writer.execute(text("ROLLBACK"))
    finally:
        other.dispose()
    assert [c.subscription_id for c in claims] == [sid]
