"""apply_track_outcome: idempotent events, no regression, derived times (STATUS_MODEL.md)."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from integrations.models import InvalidNumber, NotFoundYet, Status, TrackEvent, TrackRequest, build_result
from shipments.db import utcnow
from shipments.models import TrackingEvent
from shipments.models.enums import EventSource, ShipmentStatus, StopReason
from shipments.services import tracking
from shipments.services.schedule import PollPolicy

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)
POLICY = PollPolicy(jitter=0.0)
STEPS = [
    (0, Status.INFO_RECEIVED, None, "商家已下单"),
    (3, Status.IN_TRANSIT, "PICKED_UP", "【绍兴市】诸暨山下湖镇网点 已揽收"),
    (9, Status.IN_TRANSIT, None, "快件已到达【杭州转运中心】"),
    (26, Status.OUT_FOR_DELIVERY, None, "派件员王师傅 正在派件"),
    (28, Status.DELIVERED, "SIGNED", "快件已签收，签收人：本人"),
]


def result(upto, *, status=None, order=None, repeat=False, number="YT5000000000001"):
    """A carrier answer with the first `upto` steps (optionally shuffled or repeated)."""
    events = [TrackEvent(T0 + timedelta(hours=h), st, desc, "绍兴市", None, sub) for h, st, sub, desc in STEPS[:upto]]
    if order:
        events = [events[i] for i in order]
    if repeat:
        events = events + events
    last = STEPS[upto - 1]
    return build_result(number=number, carrier="yto", status=status or last[1], substatus=last[2],
                        raw_state=None, events=events)


@pytest.fixture
def shipment(create_shipment):
    return create_shipment(carrier="yto", provider="kdniao", tracking_number="YT5000000000001",
                           registered_at=T0 - timedelta(hours=1), next_poll_at=T0)


def apply(db_session, shipment, outcome, now=None, source=EventSource.POLL):
    applied = tracking.apply_track_outcome(db_session, shipment, outcome, source=source,
                                           now=now or T0 + timedelta(hours=30), policy=POLICY)
    db_session.flush()
    return applied


def event_count(db_session, shipment):
    return db_session.scalar(select(func.count()).select_from(TrackingEvent)
                             .where(TrackingEvent.shipment_id == shipment.id))


def test_dedupe_key_is_sha1_of_utc_time_and_description():
    beijing = timezone(timedelta(hours=8))
    a = tracking.dedupe_key(datetime(2026, 6, 1, 8, 0, tzinfo=beijing), "已揽收 ")
    b = tracking.dedupe_key(datetime(2026, 6, 1, 0, 0, tzinfo=timezone.utc), "已揽收")
    assert a == b and len(a) == 40
    assert a != tracking.dedupe_key(datetime(2026, 6, 1, 0, 0, 1, tzinfo=timezone.utc), "已揽收")


def test_result_sets_status_events_and_derived_times(db_session, shipment):
    applied = apply(db_session, shipment, result(5))
    assert applied.new_events == 5 and applied.status_changed and applied.changed
    assert shipment.status == ShipmentStatus.DELIVERED and shipment.substatus == "SIGNED"
    assert shipment.picked_up_at == T0 + timedelta(hours=3)
    assert shipment.delivered_at == T0 + timedelta(hours=28)
    assert shipment.last_event_at == T0 + timedelta(hours=28)
    assert shipment.stop_reason == StopReason.DELIVERED and shipment.next_poll_at is None
    assert shipment.updated_at == T0 + timedelta(hours=30) and shipment.poll_failures == 0


def test_repeated_history_never_duplicates_events(db_session, shipment):
    apply(db_session, shipment, result(3))
    again = apply(db_session, shipment, result(3, repeat=True))
    assert again.new_events == 0 and not again.status_changed
    assert event_count(db_session, shipment) == 3
    # The same history pushed later adds nothing either.
    assert apply(db_session, shipment, result(3), source=EventSource.PUSH).new_events == 0
    assert event_count(db_session, shipment) == 3


def test_out_of_order_history_is_sorted_and_counted_once(db_session, shipment):
    apply(db_session, shipment, result(4, order=[3, 0, 2, 1]))
    assert shipment.status == ShipmentStatus.OUT_FOR_DELIVERY
    times = db_session.scalars(select(TrackingEvent.occurred_at).where(TrackingEvent.shipment_id == shipment.id)
                               .order_by(TrackingEvent.id)).all()
    assert sorted(times) == [T0 + timedelta(hours=h) for h in (0, 3, 9, 26)]


def test_late_out_for_delivery_never_regresses_a_delivered_shipment(db_session, shipment):
    apply(db_session, shipment, result(5))
    # A stale answer (an older cache, a late push) that ends at "out for delivery".
    late = apply(db_session, shipment, result(4), source=EventSource.PUSH)
    assert not late.status_changed and late.new_events == 0
    assert shipment.status == ShipmentStatus.DELIVERED and shipment.delivered_at == T0 + timedelta(hours=28)
    assert shipment.last_event_at == T0 + timedelta(hours=28)
    # Even with a shipment-level state saying "in transit" and the same latest event.
    same_time = apply(db_session, shipment, result(5, status=Status.IN_TRANSIT))
    assert not same_time.status_changed and shipment.status == ShipmentStatus.DELIVERED
    assert event_count(db_session, shipment) == 5


def test_stale_payload_does_not_move_a_live_shipment_back(db_session, shipment):
    apply(db_session, shipment, result(4))
    apply(db_session, shipment, result(2))
    assert shipment.status == ShipmentStatus.OUT_FOR_DELIVERY


def test_newer_return_after_delivery_is_followed(db_session, shipment):
    apply(db_session, shipment, result(5))
    returning = result(5, status=Status.RETURNING)
    extra = TrackEvent(T0 + timedelta(hours=40), Status.RETURNING, "收件人拒收，快件退回寄件人", None, "6")
    newer = build_result(number=returning.number, carrier="yto", status=Status.RETURNING, substatus=None,
                         raw_state="6", events=list(returning.events) + [extra])
    applied = apply(db_session, shipment, newer, now=T0 + timedelta(hours=41))
    assert applied.status_changed and shipment.status == ShipmentStatus.RETURNING
    assert shipment.stop_reason is None  # followed again: a real return after delivery
    assert shipment.next_poll_at == T0 + timedelta(hours=41 + 4)


def test_not_found_yet_and_invalid_number(db_session, shipment):
    request = TrackRequest("yto", shipment.tracking_number)
    applied = apply(db_session, shipment, NotFoundYet(request), now=T0)
    assert not applied.changed and shipment.status == ShipmentStatus.PENDING
    assert shipment.next_poll_at == T0 + timedelta(hours=1)  # hourly while nothing is known
    applied = apply(db_session, shipment, InvalidNumber(request, "no such number"), now=T0)
    assert applied.stopped == StopReason.INVALID_NUMBER and shipment.next_poll_at is None


def test_push_marks_subscription_and_defers_polling(db_session, shipment):
    now = T0 + timedelta(hours=10)
    tracking.apply_track_outcome(db_session, shipment, result(3), source=EventSource.PUSH, now=now,
                                 policy=POLICY, push_capable=True)
    assert shipment.last_push_at == now and shipment.subscription_state == "subscribed"
    assert shipment.next_poll_at == now + timedelta(hours=12)
    assert shipment.last_polled_at is None  # a push is not a poll


def test_failure_counts_and_backs_off(db_session, shipment):
    now = utcnow()
    tracking.record_poll_failure(shipment, "TemporaryError: HTTP 500", now=now, policy=POLICY)
    tracking.record_poll_failure(shipment, "TemporaryError: HTTP 500", now=now, policy=POLICY)
    assert shipment.poll_failures == 2 and shipment.last_poll_error.startswith("TemporaryError")
    assert timedelta(seconds=300) <= shipment.next_poll_at - now <= timedelta(seconds=600)
