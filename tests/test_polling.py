"""The poll cycle in one process, on SQLite and PostgreSQL, against local fake carriers."""
import logging
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from integrations.models import TrackRequest
from shipments.db import utcnow
from shipments.models import Shipment, TrackingEvent, WebhookDelivery, WebhookSubscription
from shipments.models.enums import ShipmentStatus, StopReason, SubscriptionState
from shipments.services import polling, tracking
from shipments.services.quotas import CircuitBreaker
from shipments.services.webhooks import STATUS_CHANGED
from tests.fakes import kuaidi100 as k100
from tests.fakes import seventeentrack as st
from tests.fakes.kuaidi100 import Kuaidi100Fake
from tests.fakes.server import serve
from tests.fakes.seventeentrack import SeventeenTrackFake


@pytest.fixture
def k100_fake():
    fake = Kuaidi100Fake(lock_after=10_000)
    url, stop = serve(fake)
    fake.url = url
    yield fake
    stop()


@pytest.fixture
def st_fake():
    fake = SeventeenTrackFake()
    url, stop = serve(fake)
    fake.url = url
    yield fake
    stop()


@pytest.fixture
def poll_config(app, k100_fake, st_fake):
    """The app's configuration pointed at the fakes, with its own quota/circuit namespace."""
    config = dict(app.config)
    config.update(
        KUAIDI100_URL=k100_fake.url, KUAIDI100_KEY=k100.KEY, KUAIDI100_CUSTOMER=k100.CUSTOMER,
        KUAIDI100_SALT=k100.SALT, SEVENTEENTRACK_URL=st_fake.url, SEVENTEENTRACK_TOKEN=st.TOKEN,
        REDIS_URL=None, PUBLIC_BASE_URL=None, QUOTA_NAMESPACE=f"test-{uuid.uuid4().hex[:8]}",
        POLL_RATE={}, POLL_HTTP_TIMEOUT=0.5, POLL_CYCLE_SECONDS=20, POLL_JITTER=0.0,
        CIRCUIT_FAILURES=3, CIRCUIT_OPEN_SECONDS=0.5,
    )
    return config


@pytest.fixture
def due(create_shipment, create_organisation):
    org = create_organisation()
    seq = iter(range(10**6))

    def make(carrier="yto", provider="kuaidi100", number=None, **values):
        n = next(seq)
        if number is None:
            number = {"yto": f"YT{n:013d}", "sf": f"SF1{n:012d}", "zto": f"78{n:012d}",
                      "chinapost": f"98{n:011d}"}[carrier]
        values.setdefault("registered_at", utcnow() - timedelta(hours=2))
        values.setdefault("next_poll_at", utcnow() - timedelta(seconds=1))
        return create_shipment(organisation=org, carrier=carrier, provider=provider, tracking_number=number,
                               **values)
    return make


def events_of(session, shipment):
    return session.scalars(select(TrackingEvent).where(TrackingEvent.shipment_id == shipment.id)
                           .order_by(TrackingEvent.occurred_at)).all()


def test_claim_takes_only_due_unleased_live_shipments_of_enabled_providers(db_session, due):
    now = utcnow()
    ok = due()
    due(next_poll_at=now + timedelta(minutes=5))  # not yet due
    due(status=ShipmentStatus.DELIVERED)  # terminal
    due(stop_reason=StopReason.NEEDS_PHONE)  # waits for digits
    due(provider="unassigned")  # no provider can track it
    due(lease_owner="other", lease_until=now + timedelta(minutes=1))  # someone else holds it
    expired_lease = due(lease_owner="dead", lease_until=now - timedelta(seconds=1))
    claims = polling.claim_due_shipments(db_session, owner="me", now=now, limit=100, lease_seconds=60,
                                         providers=["kuaidi100", "sandbox"])
    assert sorted(c.id for c in claims) == sorted([ok.id, expired_lease.id])
    db_session.expire_all()
    assert {(s.lease_owner, s.lease_until) for s in (ok, expired_lease)} == {("me", now + timedelta(seconds=60))}
    # Claimed once, not again.
    assert polling.claim_due_shipments(db_session, owner="you", now=now, limit=100, lease_seconds=60,
                                       providers=["kuaidi100"]) == []


def test_claim_limit_and_oldest_first(db_session, due):
    now = utcnow()
    shipments = [due(next_poll_at=now - timedelta(minutes=m)) for m in (1, 9, 5)]
    claims = polling.claim_due_shipments(db_session, owner="me", now=now, limit=2, lease_seconds=60,
                                         providers=["kuaidi100"])
    assert [c.id for c in claims] == [shipments[1].id, shipments[2].id]


def test_poll_once_polls_applies_and_reschedules(db_session, due, poll_config, k100_fake):
    delivered = due(number="YT2000000000001")
    moving = due(number="YT2000000000002")
    k100_fake.scenarios = {"YT2000000000001": "delivered"}
    summary = polling.poll_once(db_session, poll_config)
    assert (summary.claimed, summary.polled, summary.failed) == (2, 2, 0)
    assert summary.providers["kuaidi100"].updated == 2
    db_session.expire_all()
    assert delivered.status == ShipmentStatus.DELIVERED and delivered.stop_reason == StopReason.DELIVERED
    assert delivered.next_poll_at is None and delivered.delivered_at is not None
    assert delivered.picked_up_at is not None and delivered.lease_owner is None
    assert len(events_of(db_session, delivered)) == 7
    assert moving.status == ShipmentStatus.IN_TRANSIT and moving.stop_reason is None
    # Kuaidi100: never sooner than 30 minutes for one number; in transit: 4 h.
    assert moving.next_poll_at - moving.last_polled_at == timedelta(hours=4)
    assert k100_fake.counts == {"YT2000000000001": 1, "YT2000000000002": 1}
    # Nothing is due any more: a second cycle calls nobody.
    assert polling.poll_once(db_session, poll_config).claimed == 0
    assert k100_fake.requests == 2


def test_phone_needed_waits_without_calls_until_digits_arrive(db_session, due, poll_config, k100_fake):
    sf = due("sf")
    summary = polling.poll_once(db_session, poll_config)
    assert summary.polled == 0 and k100_fake.requests == 0
    db_session.expire_all()
    assert sf.stop_reason == StopReason.NEEDS_PHONE and sf.next_poll_at is None
    assert polling.poll_once(db_session, poll_config).claimed == 0
    assert tracking.set_phone_last4(sf, "1234", now=utcnow()) is True
    db_session.flush()
    assert polling.poll_once(db_session, poll_config).polled == 1
    db_session.expire_all()
    assert sf.stop_reason is None and sf.status == ShipmentStatus.IN_TRANSIT
    assert k100_fake.counts[sf.tracking_number] == 1


def test_bad_number_is_marked_not_retried(db_session, due, poll_config, k100_fake):
    bad = due(number="YT3000000000001")
    k100_fake.scenarios = {bad.tracking_number: "bad_number"}
    polling.poll_once(db_session, poll_config)
    db_session.expire_all()
    assert bad.stop_reason == StopReason.INVALID_NUMBER and bad.next_poll_at is None
    assert polling.poll_once(db_session, poll_config).claimed == 0


def test_subscribes_push_providers_then_polls_only_as_fallback(db_session, due, poll_config, k100_fake):
    poll_config["PUBLIC_BASE_URL"] = "https://track.example.cn"
    shipment = due()
    summary = polling.poll_once(db_session, poll_config)
    assert summary.providers["kuaidi100"].subscribed == 1 and summary.polled == 0
    db_session.expire_all()
    assert shipment.subscription_state == SubscriptionState.SUBSCRIBED
    assert k100_fake.subscribed[shipment.tracking_number] == 1
    assert shipment.next_poll_at - shipment.subscribed_at == timedelta(hours=12)


def test_transfer_switches_the_tracked_number(db_session, due, poll_config, k100_fake):
    shipment = due(number="YT4000000000001")
    k100_fake.scenarios = {shipment.tracking_number: "transferred"}
    polling.poll_once(db_session, poll_config)
    db_session.expire_all()
    assert (shipment.tracked_carrier, shipment.tracked_number) == ("chinapost", "9812345678901")
    assert shipment.carrier == "yto" and shipment.tracking_number == "YT4000000000001"  # one record
    # Followed at once under the new number (which had never been asked).
    assert k100_fake.counts == {"YT4000000000001": 1, "9812345678901": 1}
    assert shipment.status == ShipmentStatus.IN_TRANSIT
    descriptions = [e.description for e in events_of(db_session, shipment)]
    assert len(descriptions) == len(set(descriptions)) == 6  # the shared history is not duplicated
    shipment.next_poll_at = utcnow()
    db_session.flush()
    claims = polling.claim_due_shipments(db_session, owner="me", now=utcnow(), limit=10, lease_seconds=60,
                                         providers=["kuaidi100"])
    assert [(c.carrier, c.number) for c in claims] == [("chinapost", "9812345678901")]


def test_outage_backoff_circuit_breaker_and_recovery(db_session, due, poll_config, k100_fake, st_fake, caplog):
    """500s, timeouts and 429s at one provider: backoff, circuit, others unaffected, recovery."""
    caplog.set_level(logging.WARNING)
    poll_config["POLL_THREADS"] = 1  # calls already in flight when the circuit opens would blur the counts
    poll_config["POLL_MIN_INTERVAL"] = {}  # else Kuaidi100's 30-minute floor hides the backoff
    # Open long enough that a slow cycle on a loaded machine cannot see it half-open and probe
    # (at 0.5 s, load 9-13 on 2 CPUs made a 4th call in the same cycle, on main too).
    poll_config["CIRCUIT_OPEN_SECONDS"] = 10
    k100_shipments = [due() for _ in range(12)]
    st_shipments = [due("chinapost", provider="17track") for _ in range(5)]
    breaker = CircuitBreaker.from_config(poll_config)
    for mode in ("server_error", "timeout", "rate_limited"):
        k100_fake.mode = mode
        for s in k100_shipments:
            s.next_poll_at = utcnow() - timedelta(seconds=1)
            s.poll_failures = 0
        db_session.flush()
        k100_fake.reset_counts()
        summary = polling.poll_once(db_session, poll_config)
        # The circuit opened after 3 failed calls; the rest were not even tried.
        assert summary.providers["kuaidi100"].failed == 3, mode
        assert summary.providers["kuaidi100"].deferred == 9
        assert summary.circuits["kuaidi100"] == "open"
        assert k100_fake.requests == 3
        db_session.expire_all()
        failed = [s for s in k100_shipments if s.poll_failures == 1]
        assert len(failed) == 3 and all(s.last_poll_error for s in failed)
        # Backed off with jitter (base 300 s: between 150 s and 300 s; 429: at least Retry-After).
        delays = [(s.next_poll_at - s.last_polled_at).total_seconds() for s in failed]
        assert all(150 <= d <= 300 for d in delays)
        # Deferred shipments keep their data, no lease, due after the circuit's pause.
        assert all(s.lease_owner is None and s.next_poll_at is not None for s in k100_shipments)
        breaker.reset("kuaidi100")
    # 17TRACK carried on meanwhile (polled in the first cycle, in one batch).
    assert all(s.status == ShipmentStatus.IN_TRANSIT for s in st_shipments)
    assert st_fake.calls["gettrackinfo"] == 1
    assert "kuaidi100" in caplog.text and "HTTP 500" in caplog.text and k100.KEY not in caplog.text

    # Recovery: the carrier is back; everything is polled, nothing lost.
    k100_fake.mode = None
    k100_fake.reset_counts()
    for s in k100_shipments:
        s.next_poll_at = utcnow() - timedelta(seconds=1)
    db_session.flush()
    summary = polling.poll_once(db_session, poll_config)
    assert summary.providers["kuaidi100"].polled == 12 and summary.failed == 0
    db_session.expire_all()
    assert all(s.status == ShipmentStatus.IN_TRANSIT and s.poll_failures == 0 for s in k100_shipments)
    assert sorted(k100_fake.counts.values()) == [1] * 12
    assert db_session.scalar(select(func.count()).select_from(Shipment)
                             .where(Shipment.lease_owner.is_not(None))) == 0


def test_half_open_circuit_lets_one_probe_through(db_session, due, poll_config, k100_fake):
    poll_config["CIRCUIT_OPEN_SECONDS"] = 0.2
    breaker = CircuitBreaker.from_config(poll_config)
    for _ in range(3):
        breaker.record_failure("kuaidi100", "test")
    assert breaker.state("kuaidi100") == "open" and not breaker.allow("kuaidi100")
    import time
    time.sleep(0.25)
    assert breaker.state("kuaidi100") == "half_open"
    assert breaker.allow("kuaidi100") is True and breaker.allow("kuaidi100") is False  # one probe only
    breaker.record_success("kuaidi100")
    assert breaker.state("kuaidi100") == "closed" and breaker.allow("kuaidi100")


def test_sandbox_shipments_are_polled_in_batches(db_session, due, poll_config):
    from integrations.sandbox.timeline import make_number
    shipments = [due(carrier="sandbox", provider="sandbox", number=make_number(900 + i),
                     registered_at=utcnow() - timedelta(days=3)) for i in range(5)]
    summary = polling.poll_once(db_session, poll_config)
    assert summary.providers["sandbox"].polled == 5
    db_session.expire_all()
    assert all(s.status != ShipmentStatus.PENDING and s.last_event_at for s in shipments)


def test_a_batch_of_answers_is_flushed_once_not_once_per_parcel(db_session, due, poll_config):
    """Applying a batch looks the webhook subscribers up once per transaction: a parcel's status
    change no longer flushes the session (an UPDATE per parcel) in the middle of the batch."""
    from integrations.sandbox.timeline import make_number
    shipments = [due(carrier="sandbox", provider="sandbox", number=make_number(950 + i),
                     registered_at=utcnow() - timedelta(days=3)) for i in range(40)]
    subscription = WebhookSubscription(organisation_id=shipments[0].organisation_id, url="https://hooks.example/yx",
                                       events=[STATUS_CHANGED], statuses=[], secret="s" * 32)
    db_session.add(subscription)
    db_session.commit()
    statements, flushes = Counter(), []

    def count(conn, cursor, statement, parameters, context, executemany):
        words = statement.split()
        statements[" ".join(words[:3] if words[0] == "UPDATE" else words[:1])] += 1
    connection = db_session.connection()
    event.listen(connection, "before_cursor_execute", count)
    event.listen(db_session(), "after_flush", lambda session, context: flushes.append(1))
    try:
        summary = polling.poll_once(db_session, poll_config)
    finally:
        event.remove(connection, "before_cursor_execute", count)
    assert summary.providers["sandbox"].polled == 40
    db_session.expire_all()
    changed = [s for s in shipments if s.status != ShipmentStatus.PENDING]
    assert len(changed) >= 30
    # Behaviour kept: one delivery per status change, for the subscriber that wants it.
    deliveries = db_session.scalar(select(func.count()).select_from(WebhookDelivery)
                                   .where(WebhookDelivery.subscription_id == subscription.id))
    assert deliveries == len(changed)
    # One answer for the 40 (the sandbox takes 100 numbers a call), so one batch: one flush at its end
    # (before: 42, one per parcel as each status change looked the subscribers up, with 83 UPDATEs and
    # 46 SELECTs), the shipments written by one UPDATE per run of rows changing the same columns.
    assert len(flushes) <= 2, (len(flushes), statements)
    assert statements["UPDATE shipments SET"] < 40, statements
    assert statements["SELECT"] <= 8, statements


def test_track_request_uses_phone_and_registration(db_session, due):
    s = due("sf", phone_last4="1234")
    [claim] = polling.claim_due_shipments(db_session, owner="me", now=utcnow(), limit=5, lease_seconds=5,
                                          providers=["kuaidi100"])
    assert claim.request() == TrackRequest("sf", s.tracking_number, "1234", s.registered_at)


def test_resume_refuses_bad_digits(db_session, due):
    s = due("sf")
    with pytest.raises(ValueError, match="phone_last4"):
        tracking.set_phone_last4(s, "12a4", now=utcnow())


def test_unassigned_shipments_get_a_provider_once_one_is_enabled(db_session, due, poll_config):
    waiting = due(provider="unassigned", next_poll_at=None)
    international = due("chinapost", provider="unassigned", number="EA123456785US", next_poll_at=None)
    off = dict(poll_config, KUAIDI100_KEY=None, SEVENTEENTRACK_TOKEN=None)
    assert polling.reassign_providers(db_session, off) == 0
    assert polling.reassign_providers(db_session, poll_config) == 2
    assert waiting.provider == "kuaidi100" and waiting.next_poll_at is not None
    assert international.provider == "17track"


@pytest.mark.parametrize("minutes_ago,asked", [(29, 0), (31, 1)])
def test_a_number_is_not_asked_again_inside_the_minimum_interval(db_session, due, poll_config, k100_fake,
                                                                 minutes_ago, asked):
    """Kuaidi100's 30 minutes per number, counted from the last send time, even when the number is due."""
    sent = utcnow() - timedelta(minutes=minutes_ago)
    shipment = due(last_polled_at=sent)
    polling.poll_once(db_session, poll_config)
    assert k100_fake.counts.get(shipment.tracking_number, 0) == asked
    db_session.expire_all()
    if not asked:
        assert shipment.next_poll_at == sent + timedelta(minutes=30) and shipment.last_polled_at == sent
