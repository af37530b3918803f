"""Several poll processes on one PostgreSQL database, against a fake carrier on a real socket.

Runs only with TEST_DATABASE_URL (each test creates and drops its own database).
"""
import os
import signal
import time
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, func, select

from shipments.db import utcnow
from shipments.models import Shipment, TrackingEvent
from tests.fakes import kuaidi100 as k100
from tests.fakes.kuaidi100 import Kuaidi100Fake
from tests.fakes.server import serve
from tests.polling_support import finish, fresh_database, seed_due, start_poll_process

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
pytestmark = [
    pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs PostgreSQL (set TEST_DATABASE_URL)"),
    pytest.mark.slow,
]


@pytest.fixture
def database():
    with fresh_database(TEST_DATABASE_URL) as url:
        yield url


@pytest.fixture
def carrier():
    fake = Kuaidi100Fake(lock_after=10**6)
    url, stop = serve(fake)
    fake.url = url
    yield fake
    stop()


def overrides(database, carrier, **extra):
    return {"DATABASE_URL": database, "SECRET_KEY": "test", "SCHEDULER_IN_PROCESS": False,
            "KUAIDI100_URL": carrier.url, "KUAIDI100_KEY": k100.KEY, "KUAIDI100_CUSTOMER": k100.CUSTOMER,
            "KUAIDI100_SALT": k100.SALT, "POLL_RATE": {}, "POLL_HTTP_TIMEOUT": 5, **extra}


def shipment_stats(database):
    engine = create_engine(database)
    with engine.connect() as conn:
        polled = conn.execute(select(func.count()).select_from(Shipment)
                              .where(Shipment.last_polled_at.is_not(None))).scalar_one()
        leased = conn.execute(select(func.count()).select_from(Shipment)
                              .where(Shipment.lease_owner.is_not(None))).scalar_one()
        events = conn.execute(select(func.count()).select_from(TrackingEvent)).scalar_one()
        statuses = dict(conn.execute(select(Shipment.status, func.count()).group_by(Shipment.status)).all())
    engine.dispose()
    return polled, leased, events, statuses


def test_three_processes_poll_2000_shipments_exactly_once(database, carrier):
    numbers = [f"YT7{i:012d}" for i in range(2000)]
    seed_due(database, numbers)
    config = overrides(database, carrier, POLL_CLAIM_SIZE=50, POLL_THREADS=8)
    started = time.monotonic()
    processes = [start_poll_process(config) for _ in range(3)]
    summaries = [finish(p) for p in processes]
    elapsed = time.monotonic() - started

    assert sorted(carrier.counts) == numbers
    assert set(carrier.counts.values()) == {1}  # every shipment asked about exactly once
    assert sum(s["polled"] for s in summaries) == 2000
    assert sum(s["failed"] for s in summaries) == 0
    assert sum(1 for s in summaries if s["polled"]) >= 2, summaries  # really side by side
    polled, leased, events, statuses = shipment_stats(database)
    assert (polled, leased, events) == (2000, 0, 2000 * 4)  # the in_transit story has 4 scans
    assert statuses == {"in_transit": 2000}
    assert elapsed < 50


def test_sigkilled_worker_loses_nothing_and_no_number_is_asked_twice(database, carrier):
    """A worker killed with calls in flight: after a restart no number is asked again inside the carrier's
    minimum interval (Kuaidi100: 30 min), because the send time was committed at the claim."""
    numbers = [f"YT8{i:012d}" for i in range(120)]
    seed_due(database, numbers)
    carrier.latency = 0.15
    lease = 5
    config = overrides(database, carrier, POLL_CLAIM_SIZE=40, POLL_THREADS=4, POLL_LEASE_SECONDS=lease,
                       POLL_HTTP_TIMEOUT=1)
    victim = start_poll_process(config)
    deadline = time.monotonic() + 30
    while carrier.requests < 50 and time.monotonic() < deadline:
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=10)  # reaps it and closes its pipes
    killed_at = utcnow()
    assert victim.returncode == -signal.SIGKILL
    time.sleep(1)  # requests the victim sent before it died are answered (and counted) by the fake
    asked_by_victim = dict(carrier.counts)

    engine = create_engine(database)
    with engine.connect() as conn:
        applied = set(conn.execute(select(Shipment.tracking_number)
                                   .where(Shipment.status != "pending")).scalars())
        sent = dict(conn.execute(select(Shipment.tracking_number, Shipment.last_polled_at)
                                 .where(Shipment.last_polled_at.is_not(None))).all())
        held_numbers = set(conn.execute(select(Shipment.tracking_number).where(
            Shipment.lease_owner.is_not(None), Shipment.lease_until > killed_at)).scalars())
    engine.dispose()
    in_flight = set(asked_by_victim) - applied
    assert 0 < len(applied) < 120
    assert held_numbers and in_flight <= held_numbers  # it died mid-batch, holding leases
    assert set(asked_by_victim) <= set(sent)  # every number asked had its send time on record first

    # Survivors leave the dead worker's leases alone, then take over once they expire.
    finish(start_poll_process(config))
    time.sleep(max(0.0, lease - (utcnow() - killed_at).total_seconds()) + 0.5)
    finish(start_poll_process(config))

    # No number was asked twice: the ones in flight wait out the minimum interval from their send time.
    assert set(carrier.counts.values()) == {1}
    never_sent = set(sent) - set(asked_by_victim) - applied  # claimed by the victim, not yet asked
    assert set(carrier.counts) == set(numbers) - never_sent
    engine = create_engine(database)
    with engine.connect() as conn:
        rows = conn.execute(select(Shipment.tracking_number, Shipment.status, Shipment.next_poll_at,
                                   Shipment.last_polled_at, Shipment.lease_owner)).all()
        events = conn.execute(select(func.count()).select_from(TrackingEvent)).scalar_one()
    engine.dispose()
    waiting = {r.tracking_number: r for r in rows if r.status == "pending"}
    assert all(r.lease_owner is None for r in rows)
    assert set(waiting) == set(sent) - applied and in_flight <= set(waiting)
    for number, row in waiting.items():
        assert row.next_poll_at >= sent[number] + timedelta(minutes=30), number
    assert events == 4 * (120 - len(waiting))  # everything else was asked once and applied
