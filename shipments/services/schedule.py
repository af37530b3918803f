"""The polling policy: when to ask a carrier about a shipment next (pure).

DESIGN.md §3: registered with no data → hourly for 2 days, then every 6 h;
in transit every 4 h; out for delivery / at a pickup point every 1 h;
exception every 2 h; stop on terminal; expire after 30 days without news;
push-subscribed shipments are polled only when no push came for 12 h;
failures back off exponentially with jitter. Every number comes from config.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shipments.config import DEFAULTS
from shipments.models.enums import ShipmentStatus, StopReason

S = ShipmentStatus

_STOP_FOR_TERMINAL = {
    S.DELIVERED: StopReason.DELIVERED,
    S.RETURNED: StopReason.RETURNED,
    S.EXPIRED: StopReason.EXPIRED_NO_NEWS,
    S.CANCELLED: StopReason.CANCELLED,
}
_NEAR_DELIVERY = frozenset({S.OUT_FOR_DELIVERY, S.AVAILABLE_FOR_PICKUP, S.ATTEMPT_FAIL})
_NOT_STARTED = frozenset({S.PENDING, S.INFO_RECEIVED})


@dataclass(frozen=True)
class PollPolicy:
    """The numbers of the policy (seconds unless named otherwise)."""

    # Defaults are the configuration's (shipments/config.py is their one home).
    pending_interval: float = DEFAULTS["POLL_PENDING_INTERVAL"]
    pending_fast_hours: float = DEFAULTS["POLL_PENDING_FAST_HOURS"]
    pending_slow_interval: float = DEFAULTS["POLL_PENDING_SLOW_INTERVAL"]
    in_transit_interval: float = DEFAULTS["POLL_IN_TRANSIT_INTERVAL"]
    near_delivery_interval: float = DEFAULTS["POLL_NEAR_DELIVERY_INTERVAL"]
    exception_interval: float = DEFAULTS["POLL_EXCEPTION_INTERVAL"]
    expire_days: float = DEFAULTS["POLL_EXPIRE_DAYS"]
    push_fallback_hours: float = DEFAULTS["POLL_PUSH_FALLBACK_HOURS"]
    jitter: float = DEFAULTS["POLL_JITTER"]
    backoff_base: float = DEFAULTS["POLL_BACKOFF_BASE"]
    backoff_max: float = DEFAULTS["POLL_BACKOFF_MAX"]
    min_interval: dict = field(default_factory=lambda: dict(DEFAULTS["POLL_MIN_INTERVAL"]))

    @classmethod
    def from_config(cls, config) -> "PollPolicy":
        """Read the POLL_* settings."""
        return cls(
            pending_interval=float(config["POLL_PENDING_INTERVAL"]),
            pending_fast_hours=float(config["POLL_PENDING_FAST_HOURS"]),
            pending_slow_interval=float(config["POLL_PENDING_SLOW_INTERVAL"]),
            in_transit_interval=float(config["POLL_IN_TRANSIT_INTERVAL"]),
            near_delivery_interval=float(config["POLL_NEAR_DELIVERY_INTERVAL"]),
            exception_interval=float(config["POLL_EXCEPTION_INTERVAL"]),
            expire_days=float(config["POLL_EXPIRE_DAYS"]),
            push_fallback_hours=float(config["POLL_PUSH_FALLBACK_HOURS"]),
            jitter=float(config["POLL_JITTER"]),
            backoff_base=float(config["POLL_BACKOFF_BASE"]),
            backoff_max=float(config["POLL_BACKOFF_MAX"]),
            min_interval=dict(config["POLL_MIN_INTERVAL"]),
        )


@dataclass(frozen=True)
class PollState:
    """What the policy looks at: one shipment's status and history, as plain values."""

    status: ShipmentStatus
    registered_at: datetime
    provider: str
    last_event_at: datetime | None = None
    last_polled_at: datetime | None = None
    failures: int = 0  # consecutive failed polls, this one included
    retry_after: float | None = None  # the provider asked us to wait (HTTP 429)
    push_subscribed: bool = False
    subscribed_at: datetime | None = None
    last_push_at: datetime | None = None


@dataclass(frozen=True)
class PollDecision:
    """Either the next poll time, or a stop (next_poll_at None) with its reason."""

    next_poll_at: datetime | None
    stop_reason: StopReason | None = None
    expire: bool = False  # the shipment should become `expired` (no news for too long)


def regular_interval(status: ShipmentStatus, age: timedelta, policy: PollPolicy) -> float:
    """Seconds between polls of a healthy shipment in `status`, `age` after registration."""
    if status in _NOT_STARTED:
        if age < timedelta(hours=policy.pending_fast_hours):
            return policy.pending_interval
        return policy.pending_slow_interval
    if status in _NEAR_DELIVERY:
        return policy.near_delivery_interval
    if status == S.EXCEPTION:
        return policy.exception_interval
    return policy.in_transit_interval  # in_transit, returning


def backoff_seconds(failures: int, policy: PollPolicy, rng: random.Random) -> float:
    """Exponential backoff after `failures` consecutive failures, with "equal jitter"."""
    ceiling = min(policy.backoff_max, policy.backoff_base * 2 ** max(failures - 1, 0))
    # Half fixed, half random: never sooner than half the step, spreads retries of a
    # whole outage apart so they do not hit the recovered carrier at the same second.
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def decide_next_poll(state: PollState, now: datetime, policy: PollPolicy,
                     rng: random.Random | None = None) -> PollDecision:
    """Return when to poll next (or why to stop), right after a poll, push or failure at `now`."""
    rng = rng or random.Random()
    status = ShipmentStatus(state.status)
    if status in _STOP_FOR_TERMINAL:
        return PollDecision(None, _STOP_FOR_TERMINAL[status])
    last_news = max(filter(None, (state.last_event_at, state.registered_at)))
    if now - last_news >= timedelta(days=policy.expire_days):
        return PollDecision(None, StopReason.EXPIRED_NO_NEWS, expire=True)

    if state.failures > 0:
        delay = backoff_seconds(state.failures, policy, rng)
        if state.retry_after:
            delay = max(delay, state.retry_after)
    else:
        interval = regular_interval(status, now - state.registered_at, policy)
        delay = interval * (1 + rng.uniform(-policy.jitter, policy.jitter))
    next_at = now + timedelta(seconds=delay)

    if state.push_subscribed and state.failures == 0:
        # Pushes carry the news; poll only when they stopped coming for a while.
        heard = max(filter(None, (state.last_push_at, state.subscribed_at)), default=state.registered_at)
        next_at = max(next_at, heard + timedelta(hours=policy.push_fallback_hours))

    minimum = policy.min_interval.get(state.provider)
    if minimum and state.last_polled_at is not None:
        next_at = max(next_at, state.last_polled_at + timedelta(seconds=minimum))
    # Never later than the expiry check itself.
    expiry_at = last_news + timedelta(days=policy.expire_days)
    return PollDecision(min(next_at, expiry_at))
