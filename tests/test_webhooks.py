"""Outbound webhooks: the outbox at each change point, and delivery to receivers on real sockets."""
import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from integrations.models import NeedsPhone, Status, TrackEvent, TrackRequest, TrackResult
from shipments.config import DEFAULTS
from shipments.db import utcnow
from shipments.models import WebhookDelivery, WebhookSubscription
from shipments.models.enums import DeliveryState, ShipmentStatus, StopReason
from shipments.schemas.shipments import ShipmentSchema
from shipments.models.enums import EventSource
from shipments.services import sweeps, tracking
from shipments.services.schedule import PollPolicy
from shipments.services.webhooks import delivery, outbox, subscriptions
from shipments.services.webhooks.signing import sign, verify
from tests.fakes.server import serve
from tests.fakes.webhook_receiver import Receiver
from tests.webhook_support import apply_step


@pytest.fixture
def config(app, monkeypatch):
    """Webhook settings for tests: loopback receivers allowed, short timeouts, quick cycles."""
    for key, value in {"WEBHOOK_ALLOW_PRIVATE": True, "WEBHOOK_TIMEOUT": 1.0, "WEBHOOK_CONNECT_TIMEOUT": 1.0,
                       "WEBHOOK_THREADS": 8, "WEBHOOK_MAX_IN_FLIGHT": 2, "WEBHOOK_IDLE_POLL_SECONDS": 0.05,
                       "WEBHOOK_CYCLE_SECONDS": 20}.items():
        monkeypatch.setitem(app.config, key, value)
    return app.config


@pytest.fixture
def receivers():
    stops = []

    def start(receiver):
        url, stop = serve(receiver)
        stops.append(stop)
        return url + "/hook"
    yield start
    for stop in stops:
        stop()


@pytest.fixture
def subscribe(db_session, config):
    def create(organisation, url, events=("shipment.status_changed",), statuses=()):
        subscription, secret = subscriptions.create_subscription(
            db_session, organisation.id, url=url, events=list(events), statuses=list(statuses), config=config,
            now=utcnow())
        return subscription, secret
    return create


def deliveries(db_session, subscription=None):
    query = select(WebhookDelivery).order_by(WebhookDelivery.id)
    if subscription is not None:
        query = query.where(WebhookDelivery.subscription_id == subscription.id)
    return db_session.scalars(query).all()


# -- the outbox ------------------------------------------------------------------
def test_a_status_change_queues_one_delivery_per_wanting_subscriber_once(db_session, create_organisation,
                                                                       create_shipment, subscribe):
    org, other = create_organisation(), create_organisation()
    shipment = create_shipment(organisation=org, phone_last4="5678")
    everything, _ = subscribe(org, "http://127.0.0.1:9/a")
    delivered_only, _ = subscribe(org, "http://127.0.0.1:9/b", statuses=["delivered"])
    others, _ = subscribe(other, "http://127.0.0.1:9/c")
    now = utcnow()

    apply_step(db_session, shipment, 1, now)  # pending -> in_transit
    apply_step(db_session, shipment, 1, now)  # the same answer again (a re-poll, a repeated push)
    apply_step(db_session, shipment, 3, now)  # -> delivered

    rows = deliveries(db_session, everything)
    assert [(json.loads(r.payload)["previous_status"], json.loads(r.payload)["status"]) for r in rows] == [
        ("pending", "in_transit"), ("in_transit", "delivered")]
    assert [json.loads(r.payload)["status"] for r in deliveries(db_session, delivered_only)] == ["delivered"]
    assert deliveries(db_session, others) == []
    # The same change again can never add a row: the key is (subscription, event id).
    assert outbox.record_shipment_change(db_session, shipment, previous_status=ShipmentStatus.IN_TRANSIT,
                                         previous_stop=None, now=now) == 0
    assert len(deliveries(db_session, everything)) == 2


def test_the_payload_is_the_api_shipment_with_the_phone_masked(db_session, create_organisation, create_shipment,
                                                               subscribe):
    org = create_organisation()
    shipment = create_shipment(organisation=org, phone_last4="5678", order_ref="DY-1")
    subscription, _ = subscribe(org, "http://127.0.0.1:9/a")
    apply_step(db_session, shipment, 0, utcnow())
    [row] = deliveries(db_session, subscription)
    document = json.loads(row.payload)
    assert set(document) == {"id", "event", "occurred_at", "previous_status", "status", "shipment"}
    assert document["id"] == row.event_id and document["event"] == "shipment.status_changed"
    assert set(document["shipment"]) == set(ShipmentSchema._declared_fields)
    assert document["shipment"]["phone_last4"] == "*******5678"
    assert document["shipment"]["number"] == shipment.tracking_number
    assert document["occurred_at"] == shipment.last_event_at.isoformat()


def test_registration_exception_needs_phone_and_sweeps_are_queued(db_session, create_organisation,
                                                                 create_shipment, subscribe):
    org = create_organisation()
    subscription, _ = subscribe(org, "http://127.0.0.1:9/a", events=outbox.EVENTS)
    now = utcnow()
    shipment = create_shipment(organisation=org, registered_at=now - timedelta(hours=30))
    outbox.record_registered(db_session, [shipment], now=now)
    # A needs-phone stop and an exception, through the carrier-answer path.
    policy = PollPolicy.from_config(DEFAULTS)
    tracking.apply_track_outcome(db_session, shipment, NeedsPhone(TrackRequest("sf", shipment.tracking_number)),
                                 source=EventSource.POLL, now=now, policy=policy)
    assert shipment.stop_reason == StopReason.NEEDS_PHONE
    assert sweeps.flag_pickup_overdue(db_session, now=now, hours=24) >= 1
    exception = TrackResult(number=shipment.tracking_number, carrier=shipment.carrier, status=Status.EXCEPTION,
                            substatus=None, raw_state=None,
                            events=(TrackEvent(now - timedelta(hours=1), Status.EXCEPTION, "包裹破损"),))
    tracking.apply_track_outcome(db_session, shipment, exception, source=EventSource.PUSH, now=now, policy=policy)
    events = [r.event for r in deliveries(db_session, subscription)]
    assert events == ["shipment.registered", "shipment.needs_phone", "shipment.pickup_overdue",
                      "shipment.status_changed", "shipment.exception"]
    # Flagged once: a second sweep queues nothing new.
    sweeps.flag_pickup_overdue(db_session, now=now, hours=24)
    assert len(deliveries(db_session, subscription)) == 5


def test_a_change_that_rolls_back_takes_its_delivery_with_it(db_session, create_organisation, create_shipment,
                                                            subscribe):
    org = create_organisation()
    shipment = create_shipment(organisation=org)
    subscription, _ = subscribe(org, "http://127.0.0.1:9/a")
    savepoint = db_session.begin_nested()
    apply_step(db_session, shipment, 1, utcnow())
    assert len(deliveries(db_session, subscription)) == 1
    savepoint.rollback()
    assert deliveries(db_session, subscription) == []


# -- delivery ------------------------------------------------------------------
def test_signature_verifies_at_a_receiver_on_a_real_socket(db_session, create_organisation, create_shipment,
                                                           subscribe, receivers, config):
    org = create_organisation()
    receiver = Receiver()
    subscription, secret = subscribe(org, receivers(receiver))
    receiver.secret = secret
    shipment = create_shipment(organisation=org)
    apply_step(db_session, shipment, 1, utcnow())

    summary = delivery.deliver_once(db_session, config)

    assert summary.delivered == 1 and receiver.bad_signatures == 0
    [request] = receiver.requests
    [row] = deliveries(db_session, subscription)
    assert request["event_id"] == row.event_id == json.loads(request["body"])["id"]
    assert request["signature"] == sign(secret, request["timestamp"], request["body"])
    assert abs(int(request["timestamp"]) - time.time()) < 5
    assert not verify("whsec_wrong", request["timestamp"], request["body"], request["signature"])
    assert request["body"] == row.payload.encode()  # the bytes signed are the bytes stored
    assert (row.state, row.attempts, row.last_status_code) == (DeliveryState.DELIVERED, 1, 200)
    assert row.delivered_at is not None and row.lease_owner is None


def test_a_rotated_secret_signs_with_both_during_the_grace_period(db_session, create_organisation,
                                                                  create_shipment, subscribe, receivers, config):
    org = create_organisation()
    receiver = Receiver()
    subscription, old = subscribe(org, receivers(receiver))
    new = subscriptions.rotate_secret(subscription, grace=timedelta(hours=1), now=utcnow())
    apply_step(db_session, create_shipment(organisation=org), 1, utcnow())
    delivery.deliver_once(db_session, config)
    [request] = receiver.requests
    for secret in (old, new):
        assert verify(secret, request["timestamp"], request["body"], request["signature"])
    assert request["signature"].split(", ")[0] == sign(new, request["timestamp"], request["body"])


def test_a_500_receiver_backs_off_while_a_second_receives_everything_on_time(
        db_session, create_organisation, create_shipment, subscribe, receivers, config):
    org = create_organisation()
    broken, healthy = Receiver(status=500), Receiver()
    broken_sub, _ = subscribe(org, receivers(broken))
    healthy_sub, healthy.secret = subscribe(org, receivers(healthy))
    now = utcnow()
    for _ in range(10):
        apply_step(db_session, create_shipment(organisation=org), 1, now)

    started = time.monotonic()
    first = delivery.deliver_once(db_session, config)
    elapsed = time.monotonic() - started

    assert len(healthy.counts) == 10 and set(healthy.counts.values()) == {1}
    assert elapsed < 10  # well under one backoff step (60 s) even on a busy machine
    assert first.delivered == 10 and first.retried == 10
    rows = deliveries(db_session, broken_sub)
    assert {(r.state, r.attempts, r.last_status_code) for r in rows} == {(DeliveryState.PENDING, 1, 500)}
    waits = [(r.next_attempt_at - r.last_attempt_at).total_seconds() for r in rows]
    assert all(48 <= w <= 72 for w in waits) and len(set(waits)) > 1  # 1 min ± 20 % jitter

    # Nothing is due before the backoff: a cycle now sends nothing to anyone.
    assert delivery.deliver_once(db_session, config).claimed == 0
    # Two minutes on: the second try, then the wait doubles.
    later = now + timedelta(minutes=2)
    second = delivery.deliver_once(db_session, config, clock=lambda: later)
    assert second.retried == 10 and len(broken.requests) == 20
    waits = [(r.next_attempt_at - later).total_seconds() for r in deliveries(db_session, broken_sub)]
    assert all(96 <= w <= 144 for w in waits)
    assert len(healthy.requests) == 10  # nothing sent twice to the healthy one
    assert db_session.get(WebhookSubscription, broken_sub.id).failing_since is not None
    assert db_session.get(WebhookSubscription, healthy_sub.id).failing_since is None


def test_retries_give_up_after_the_last_attempt(db_session, create_organisation, create_shipment, subscribe,
                                               receivers, config, monkeypatch):
    monkeypatch.setitem(config, "WEBHOOK_MAX_ATTEMPTS", 3)
    org = create_organisation()
    subscription, _ = subscribe(org, receivers(Receiver(status=503)))
    apply_step(db_session, create_shipment(organisation=org), 1, utcnow())
    clock = utcnow()
    for hours in (0, 1, 2, 3):
        now = clock + timedelta(hours=hours)
        delivery.deliver_once(db_session, config, clock=lambda: now)
    [row] = deliveries(db_session, subscription)
    assert (row.state, row.attempts, row.next_attempt_at) == (DeliveryState.FAILED, 3, None)


def test_4xx_is_not_retried_but_429_waits_for_retry_after(db_session, create_organisation, create_shipment,
                                                         subscribe, receivers, config):
    org = create_organisation()
    gone, busy = Receiver(status=410), Receiver(status=429, headers={"Retry-After": "600"})
    gone_sub, _ = subscribe(org, receivers(gone))
    busy_sub, _ = subscribe(org, receivers(busy))
    apply_step(db_session, create_shipment(organisation=org), 1, utcnow())
    delivery.deliver_once(db_session, config)
    [g] = deliveries(db_session, gone_sub)
    [b] = deliveries(db_session, busy_sub)
    assert (g.state, g.last_status_code, g.next_attempt_at) == (DeliveryState.FAILED, 410, None)
    assert b.state == DeliveryState.PENDING and b.last_status_code == 429
    assert (b.next_attempt_at - b.last_attempt_at).total_seconds() == pytest.approx(600, abs=1)


def test_a_hanging_receiver_is_cut_at_the_timeout_and_delays_no_one_else(
        db_session, create_organisation, create_shipment, subscribe, receivers, config):
    org = create_organisation()
    hanging, healthy = Receiver(delay=30), Receiver()
    hanging_sub, _ = subscribe(org, receivers(hanging))
    subscribe(org, receivers(healthy))
    now = utcnow()
    for _ in range(8):
        apply_step(db_session, create_shipment(organisation=org), 1, now)
    try:
        started = time.monotonic()
        summary = delivery.deliver_once(db_session, config)
        elapsed = time.monotonic() - started
    finally:
        hanging.released.set()
    # 8 deliveries to a receiver that never answers, at most 2 at a time, 1 s each: ≈ 4 s.
    assert 3.5 < elapsed < 15
    assert len(healthy.counts) == 8
    assert max(healthy.arrivals) - min(hanging.arrivals) < 1.5  # the healthy one was served at once
    # At most 2 at a time (WEBHOOK_MAX_IN_FLIGHT): the hanging one got its requests in waves a timeout apart.
    arrivals = sorted(hanging.arrivals)
    assert len(arrivals) == 8 and all(later - first >= 0.8 for first, later in zip(arrivals, arrivals[2:]))
    rows = deliveries(db_session, hanging_sub)
    assert summary.retried == 8
    assert {(r.state, r.last_status_code, r.last_error) for r in rows} == {
        (DeliveryState.PENDING, None, "timeout after 1 s")}
    assert all(900 <= r.last_duration_ms < 1600 for r in rows)


def test_a_url_resolving_to_a_private_address_is_refused(db_session, create_organisation, create_shipment,
                                                         subscribe, receivers, config, monkeypatch):
    org = create_organisation()
    receiver = Receiver()
    url = receivers(receiver).replace("127.0.0.1", "localhost")  # a name that resolves to loopback
    subscription, _ = subscribe(org, url)  # created while private targets were allowed
    apply_step(db_session, create_shipment(organisation=org), 1, utcnow())
    monkeypatch.setitem(config, "WEBHOOK_ALLOW_PRIVATE", False)

    summary = delivery.deliver_once(db_session, config)

    assert receiver.requests == []  # never reached
    [row] = deliveries(db_session, subscription)
    assert row.state == DeliveryState.FAILED and row.last_error.startswith("refused: resolves to a non-public")
    assert summary.failed == 1
    # Refused at once when the URL names a private address or loopback itself.
    for target in (url, "http://10.1.2.3/hook", "http://169.254.169.254/latest", "http://[::1]:8080/x",
                   "http://0.0.0.0/", "http://100.64.0.1/", "http://[::ffff:192.168.1.1]/"):
        with pytest.raises(subscriptions.SubscriptionError, match="url"):
            subscriptions.check_target(target, config)


def test_the_connection_itself_refuses_a_private_peer():
    """Even when a name passes the look-up, the address actually connected to is checked (DNS rebinding)."""
    import requests

    from shipments.services.webhooks.addresses import AddressRefused, GuardedAdapter
    receiver = Receiver()
    url, stop = serve(receiver)
    try:
        session = requests.Session()
        session.mount("http://", GuardedAdapter(allow_private=False))
        with pytest.raises(AddressRefused):
            session.post(url, data=b"{}", timeout=2)
        assert receiver.requests == []
    finally:
        stop()


def test_https_is_required_outside_loopback_in_production_mode(config):
    production = {**config, "TESTING": False, "DEBUG": False, "WEBHOOK_ALLOW_PRIVATE": True}
    with pytest.raises(subscriptions.SubscriptionError, match="https"):
        subscriptions.check_target("http://93.184.215.14/hook", production)
    assert subscriptions.check_target("http://127.0.0.1:8080/hook", production)
    assert subscriptions.check_target("https://93.184.215.14/hook", production)


def test_a_subscription_failing_for_days_is_disabled(db_session, create_organisation, create_shipment, subscribe,
                                                    receivers, config):
    org = create_organisation()
    subscription, _ = subscribe(org, receivers(Receiver(status=500)))
    apply_step(db_session, create_shipment(organisation=org), 1, utcnow())
    start = utcnow()
    delivery.deliver_once(db_session, config, clock=lambda: start)
    assert subscription.active
    apply_step(db_session, create_shipment(organisation=org), 1, utcnow())
    later = start + timedelta(days=3, minutes=1)
    summary = delivery.deliver_once(db_session, config, clock=lambda: later)
    db_session.refresh(subscription)
    assert summary.disabled == [subscription.id]
    assert (subscription.active, subscription.disabled_reason) == (False, "failing")
    # Disabled: nothing more is claimed for it.
    assert delivery.deliver_once(db_session, config, clock=lambda: later + timedelta(days=1)).claimed == 0


def test_redeliver_queues_failed_ones_again(db_session, create_organisation, create_shipment, subscribe,
                                            receivers, config):
    org = create_organisation()
    receiver = Receiver(status=400)
    subscription, _ = subscribe(org, receivers(receiver))
    for _ in range(3):
        apply_step(db_session, create_shipment(organisation=org), 1, utcnow())
    delivery.deliver_once(db_session, config)
    assert {r.state for r in deliveries(db_session, subscription)} == {DeliveryState.FAILED}
    receiver.status = 200
    assert subscriptions.redeliver(db_session, subscription, now=utcnow()) == 3
    delivery.deliver_once(db_session, config)
    assert {r.state for r in deliveries(db_session, subscription)} == {DeliveryState.DELIVERED}
    assert db_session.scalar(select(func.count()).select_from(WebhookDelivery)
                             .where(WebhookDelivery.subscription_id == subscription.id)) == 3


def test_flask_workers_job_delivers(app, db_session, create_organisation, create_shipment, subscribe, receivers,
                                    config, monkeypatch):
    from shipments import jobs
    monkeypatch.setitem(config, "WEBHOOK_CYCLE_SECONDS", 0.5)  # the job keeps looking this long
    org = create_organisation()
    receiver = Receiver()
    subscription, receiver.secret = subscribe(org, receivers(receiver))
    apply_step(db_session, create_shipment(organisation=org), 1, utcnow())
    job = next(j for j in jobs.JOBS if j.id == "webhook_deliveries")
    assert not job.singleton  # SKIP LOCKED claims: any number of workers side by side
    jobs.JobRunner(app).run(job)
    assert len(receiver.counts) == 1 and receiver.bad_signatures == 0
    assert db_session.scalar(select(WebhookDelivery.state)
                             .where(WebhookDelivery.subscription_id == subscription.id)) == DeliveryState.DELIVERED


def test_a_cancellation_is_a_status_change(db_session, create_organisation, create_shipment, subscribe):
    from shipments.services import shipments as shipment_service
    org = create_organisation()
    shipment = create_shipment(organisation=org)
    subscription, _ = subscribe(org, "http://127.0.0.1:9/a")
    assert shipment_service.cancel_shipment(shipment, "重复登记")
    [row] = deliveries(db_session, subscription)
    document = json.loads(row.payload)
    assert (document["previous_status"], document["status"]) == ("pending", "cancelled")
