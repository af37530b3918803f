"""The pure polling policy (DESIGN.md §3)."""
import random
from datetime import datetime, timedelta, timezone

import pytest

from shipments.config import DEFAULTS
from shipments.models.enums import ShipmentStatus as S, StopReason
from shipments.services.schedule import PollPolicy, PollState, backoff_seconds, decide_next_poll

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=timezone.utc)
EXACT = PollPolicy(jitter=0.0)  # no jitter: exact intervals


def state(status=S.IN_TRANSIT, *, age_hours=10, last_event_hours=1, provider="kdniao", **kw):
    return PollState(status=status, registered_at=NOW - timedelta(hours=age_hours), provider=provider,
                     last_event_at=None if last_event_hours is None else NOW - timedelta(hours=last_event_hours),
                     **kw)


def delay_hours(decision):
    return (decision.next_poll_at - NOW).total_seconds() / 3600


@pytest.mark.parametrize("status, age_hours, last_event_hours, expected_hours", [
    (S.PENDING, 1, None, 1),  # no data yet: hourly ...
    (S.PENDING, 47, None, 1),  # ... for 2 days ...
    (S.PENDING, 49, None, 6),  # ... then every 6 h
    (S.INFO_RECEIVED, 10, 9, 1),
    (S.IN_TRANSIT, 10, 1, 4),
    (S.RETURNING, 10, 1, 4),
    (S.OUT_FOR_DELIVERY, 30, 1, 1),
    (S.AVAILABLE_FOR_PICKUP, 30, 1, 1),
    (S.ATTEMPT_FAIL, 30, 1, 1),
    (S.EXCEPTION, 30, 1, 2),
])
def test_interval_follows_status_and_age(status, age_hours, last_event_hours, expected_hours):
    decision = decide_next_poll(state(status, age_hours=age_hours, last_event_hours=last_event_hours), NOW, EXACT)
    assert decision.stop_reason is None
    assert delay_hours(decision) == pytest.approx(expected_hours)


@pytest.mark.parametrize("status, reason", [
    (S.DELIVERED, StopReason.DELIVERED), (S.RETURNED, StopReason.RETURNED), (S.EXPIRED, StopReason.EXPIRED_NO_NEWS),
])
def test_terminal_status_stops_polling(status, reason):
    decision = decide_next_poll(state(status), NOW, EXACT)
    assert decision.next_poll_at is None and decision.stop_reason == reason and not decision.expire


def test_thirty_days_without_news_expires():
    decision = decide_next_poll(state(S.IN_TRANSIT, age_hours=40 * 24, last_event_hours=30 * 24), NOW, EXACT)
    assert decision == type(decision)(None, StopReason.EXPIRED_NO_NEWS, expire=True)
    # One day short of it: still polled, and never later than the expiry moment.
    alive = decide_next_poll(state(S.PENDING, age_hours=30 * 24 - 2, last_event_hours=None), NOW, EXACT)
    assert alive.stop_reason is None
    assert alive.next_poll_at <= NOW + timedelta(hours=2)


def test_failures_back_off_exponentially_with_jitter_and_cap():
    policy = PollPolicy(backoff_base=300, backoff_max=3600)
    rng = random.Random(7)
    for failures, ceiling in [(1, 300), (2, 600), (3, 1200), (4, 2400), (5, 3600), (12, 3600)]:
        delays = [backoff_seconds(failures, policy, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > ceiling / 4  # really jittered
    decision = decide_next_poll(state(S.IN_TRANSIT, failures=3), NOW, policy, rng)
    assert 600 <= (decision.next_poll_at - NOW).total_seconds() <= 1200


def test_retry_after_is_respected():
    decision = decide_next_poll(state(failures=1, retry_after=5000), NOW, PollPolicy(backoff_base=60))
    assert (decision.next_poll_at - NOW).total_seconds() >= 5000


def test_jitter_spreads_regular_polls_within_bounds():
    policy = PollPolicy(jitter=0.1)
    rng = random.Random(1)
    delays = {round(delay_hours(decide_next_poll(state(), NOW, policy, rng)), 4) for _ in range(100)}
    assert all(3.6 <= d <= 4.4 for d in delays) and len(delays) > 50


def test_push_subscribed_is_polled_only_after_twelve_hours_without_push():
    subscribed = dict(push_subscribed=True, subscribed_at=NOW - timedelta(hours=2))
    decision = decide_next_poll(state(S.OUT_FOR_DELIVERY, **subscribed), NOW, EXACT)
    assert delay_hours(decision) == pytest.approx(10)  # 12 h after subscribing
    recent_push = decide_next_poll(state(S.OUT_FOR_DELIVERY, last_push_at=NOW - timedelta(hours=1), **subscribed),
                                   NOW, EXACT)
    assert delay_hours(recent_push) == pytest.approx(11)
    # 12 h without a push: ordinary polling until pushes come back.
    silent = decide_next_poll(state(S.OUT_FOR_DELIVERY, push_subscribed=True,
                                    subscribed_at=NOW - timedelta(hours=20)), NOW, EXACT)
    assert delay_hours(silent) == pytest.approx(1)


def test_provider_minimum_interval_per_number():
    policy = PollPolicy(jitter=0.0, backoff_base=60, min_interval={"kuaidi100": 1800})
    failed = state(S.OUT_FOR_DELIVERY, provider="kuaidi100", failures=1, last_polled_at=NOW)
    assert (decide_next_poll(failed, NOW, policy).next_poll_at - NOW) == timedelta(minutes=30)
    other = state(S.OUT_FOR_DELIVERY, provider="kdniao", failures=1, last_polled_at=NOW)
    assert (decide_next_poll(other, NOW, policy).next_poll_at - NOW) <= timedelta(minutes=1)


def test_policy_reads_every_number_from_config():
    config = dict(DEFAULTS, POLL_IN_TRANSIT_INTERVAL=600, POLL_JITTER=0, POLL_MIN_INTERVAL={"kdniao": 7})
    policy = PollPolicy.from_config(config)
    assert policy.in_transit_interval == 600 and policy.min_interval == {"kdniao": 7}
    assert delay_hours(decide_next_poll(state(), NOW, policy)) == pytest.approx(600 / 3600)
    assert PollPolicy.from_config(DEFAULTS) == PollPolicy()  # the documented defaults
