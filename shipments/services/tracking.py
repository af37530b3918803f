"""Apply what a carrier said about a shipment: the one path for polls and pushes.

Events are inserted idempotently (unique on shipment and dedupe key, INSERT …
ON CONFLICT DO NOTHING), status follows STATUS_MODEL's no-regression rule,
derived times only ever move the right way, and the next poll is decided by
the pure policy in services/schedule.py.
"""
from __future__ import annotations

import hashlib
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy.dialects import postgresql, sqlite

from integrations.models import InvalidNumber, NeedsPhone, NotFoundYet, TrackProblem, TrackResult
from shipments.models import Shipment, TrackingEvent
from shipments.models.enums import (
    TERMINAL_STATUSES, EventSource, ShipmentStatus, StopReason, SubscriptionState, TrackingAlert,
)
from shipments.services import webhooks
from shipments.services.schedule import PollPolicy, PollState, decide_next_poll

log = logging.getLogger(__name__)
_WAITING_STOPS = frozenset({StopReason.NEEDS_PHONE, StopReason.INVALID_NUMBER})
# The 次日递 end point: the first scan at a station/locker, or delivery.
_ARRIVAL_STATUSES = frozenset({ShipmentStatus.AVAILABLE_FOR_PICKUP.value, ShipmentStatus.DELIVERED.value})
RESUBSCRIBE_AFTER = timedelta(minutes=30)  # STATUS_MODEL.md: re-subscribe ≥ 30 min after an abort
NO_RECORD_ALERT_AFTER = timedelta(hours=24)


def _raise_alert(shipment: Shipment, alert: TrackingAlert, now: datetime) -> None:
    if shipment.tracking_alert != alert:
        shipment.tracking_alert = alert
        shipment.tracking_alert_at = now


_rng = random.Random()


@dataclass
class ApplyResult:
    """What one outcome changed."""

    new_events: int = 0
    status_changed: bool = False
    transferred: bool = False
    stopped: StopReason | None = None
    resubscribe_at: datetime | None = None

    @property
    def changed(self) -> bool:
        return bool(self.new_events or self.status_changed or self.transferred or self.stopped)


def dedupe_key(occurred_at: datetime, description: str) -> str:
    """sha1 of the event time (UTC ISO) and its description: equal scans collapse."""
    stamp = occurred_at.astimezone(timezone.utc).isoformat()
    return hashlib.sha1(f"{stamp}|{description.strip()}".encode("utf-8")).hexdigest()


def _insert_events(session, shipment: Shipment, result: TrackResult, source: EventSource, now) -> int:
    # Imported here: services/network imports this module (the station desk applies its events here).
    from shipments.services.network.matching import station_names

    rows, seen = [], set()
    names = county = None
    for event in result.events:
        key = dedupe_key(event.occurred_at, event.description)
        if key in seen:
            continue
        seen.add(key)
        if names is None:
            names = station_names(session)
            county = names.county_of_shipment(shipment.destination_station_id, shipment.origin_station_id,
                                              shipment.origin_division_code)
        rows.append({
            "shipment_id": shipment.id,
            "occurred_at": event.occurred_at,
            "status": ShipmentStatus(event.status.value),
            "substatus": (event.substatus or None) and event.substatus[:40],
            "location": (event.location or None) and event.location[:120],
            "description": event.description.strip()[:500] or "—",
            "raw_code": (event.raw_code or None) and str(event.raw_code)[:40],
            "source": source,
            # Matched once here, so that "scans at this station" is an index read (network/matching.py).
            "station_id": names.match(county, event.location, event.description),
            "dedupe_key": key,
            "created_at": now,
        })
    if not rows:
        return 0
    # Core executemany of one cached statement (not the ORM's bulk path, which
    # recompiles a multi-VALUES INSERT per shipment).
    connection = session.connection()
    return len(connection.execute(_INSERT_EVENT[connection.dialect.name], rows).all())


_INSERT_EVENT = {
    name: dialect_insert(TrackingEvent.__table__)
    .on_conflict_do_nothing(index_elements=["shipment_id", "dedupe_key"])
    .returning(TrackingEvent.__table__.c.id)
    for name, dialect_insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}


def _earliest(current: datetime | None, new: datetime | None) -> datetime | None:
    return min(filter(None, (current, new)), default=None)


# After a delivery only a return may follow (STATUS_MODEL.md, precedence).
_FINAL = frozenset({ShipmentStatus.DELIVERED, ShipmentStatus.RETURNED, ShipmentStatus.CANCELLED})
_RETURNS = frozenset({ShipmentStatus.RETURNING, ShipmentStatus.RETURNED})


def _allowed_after(current: ShipmentStatus, new: ShipmentStatus) -> bool:
    """Whether a shipment at `current` may move to `new` (statuses never go backwards)."""
    if current == ShipmentStatus.DELIVERED:
        return new in _RETURNS
    return current not in _FINAL  # returned and cancelled are final


def _apply_status(shipment: Shipment, result: TrackResult) -> bool:
    """Take the provider's shipment-level status unless it would be a regression."""
    new = ShipmentStatus(result.status.value)
    latest = result.latest_event_time
    known = shipment.last_event_at
    if not result.events and new == ShipmentStatus.PENDING:
        return False  # nothing known yet: keep what we have
    older = latest is not None and known is not None and latest < known
    if older:
        return False  # a late or out-of-order payload never moves the status
    current = ShipmentStatus(shipment.status)
    if new == current:
        shipment.substatus = (result.substatus or None) and result.substatus[:40]
        return False
    if not _allowed_after(current, new):
        # Kept in the timeline only: status, stop reason and polling stay.
        log.info("shipment %s: %s after %s kept in the timeline only", shipment.id, new, current)
        return False
    if current in TERMINAL_STATUSES and new not in TERMINAL_STATUSES:
        newer = latest is not None and (known is None or latest > known)
        if not newer:
            return False
        log.warning("shipment %s: carrier reopened %s as %s with newer events", shipment.id, current, new)
        if shipment.stop_reason not in _WAITING_STOPS:
            shipment.stop_reason = None  # follow it again (the policy sets the next poll)
    shipment.status = new
    shipment.substatus = (result.substatus or None) and result.substatus[:40]
    return True


def apply_track_outcome(session, shipment: Shipment, outcome: TrackResult | TrackProblem, *,
                        source: EventSource, now: datetime, policy: PollPolicy,
                        push_capable: bool = False) -> ApplyResult:
    """Apply one provider outcome (result or per-number problem) and reschedule the shipment."""
    applied = ApplyResult()
    previous_status, previous_stop = shipment.status, shipment.stop_reason
    if source == EventSource.POLL:
        shipment.last_polled_at = now
        shipment.poll_failures = 0
        shipment.last_poll_error = None
    if isinstance(outcome, InvalidNumber):
        applied.stopped = _stop(shipment, StopReason.INVALID_NUMBER, outcome.message)
    elif isinstance(outcome, NeedsPhone):
        applied.stopped = _stop(shipment, StopReason.NEEDS_PHONE, outcome.message)
    elif isinstance(outcome, TrackResult):
        applied = _apply_result(session, shipment, outcome, source, now)
    # NotFoundYet and other problems: nothing known yet, ask again on schedule.
    if source == EventSource.PUSH:
        shipment.last_push_at = now
        # A push saying the aggregator stopped tracking does not count as a live subscription.
        if (push_capable and shipment.subscription_state != SubscriptionState.SUBSCRIBED
                and applied.resubscribe_at is None):
            shipment.subscription_state = SubscriptionState.SUBSCRIBED
            shipment.subscribed_at = shipment.subscribed_at or now
    elif isinstance(outcome, NotFoundYet) and shipment.registered_at < now - NO_RECORD_ALERT_AFTER:
        # Still no record a day after registration: a wrong number or carrier, or not sent yet.
        _raise_alert(shipment, TrackingAlert.NO_RECORD_YET, now)
    if not applied.stopped and not applied.transferred:
        applied.stopped = reschedule(shipment, now, policy)
        if applied.resubscribe_at and shipment.next_poll_at and shipment.next_poll_at < applied.resubscribe_at:
            shipment.next_poll_at = applied.resubscribe_at
    shipment.updated_at = now
    webhooks.record_shipment_change(session, shipment, previous_status=previous_status,
                                    previous_stop=previous_stop, now=now)
    return applied


def apply_track_outcomes(session, pairs, *, source: EventSource, now: datetime, policy: PollPolicy,
                         push_capable: bool = False) -> list[ApplyResult]:
    """Apply (shipment, outcome) pairs in order; see apply_track_outcome."""
    return [apply_track_outcome(session, shipment, outcome, source=source, now=now, policy=policy,
                                push_capable=push_capable) for shipment, outcome in pairs]


def _apply_result(session, shipment: Shipment, result: TrackResult, source, now) -> ApplyResult:
    applied = ApplyResult()
    applied.new_events = _insert_events(session, shipment, result, source, now)
    applied.status_changed = _apply_status(shipment, result)
    shipment.picked_up_at = _earliest(shipment.picked_up_at, result.picked_up_at)
    # Stored here so the quality rollup needs no look-up over events.
    arrived = min((e.occurred_at for e in result.events if e.status.value in _ARRIVAL_STATUSES), default=None)
    shipment.first_station_at = _earliest(shipment.first_station_at, arrived)
    if result.delivered_at and shipment.status == ShipmentStatus.DELIVERED:
        shipment.delivered_at = _earliest(shipment.delivered_at, result.delivered_at)
    shipment.at_station = bool(shipment.at_station or result.at_station)
    latest = result.latest_event_time
    if latest is not None and (shipment.last_event_at is None or latest > shipment.last_event_at):
        shipment.last_event_at = latest
    if result.tracking_stopped:
        # The aggregator gave up on its subscription: tell the organisation, and
        # subscribe again at a poll no sooner than RESUBSCRIBE_AFTER.
        shipment.subscription_state = SubscriptionState.NONE
        _raise_alert(shipment, TrackingAlert.NO_RECORD_YET if result.no_record else TrackingAlert.TRACKING_ABORTED,
                     now)
        applied.resubscribe_at = now + RESUBSCRIBE_AFTER
    elif result.events and shipment.tracking_alert is not None:
        shipment.tracking_alert = shipment.tracking_alert_at = None  # news again
    if result.transferred_to and shipment.status not in TERMINAL_STATUSES:
        carrier, number = result.transferred_to
        if (carrier, number) != (shipment.tracked_carrier, shipment.tracked_number) and \
                (carrier, number) != (shipment.carrier, shipment.tracking_number):
            log.info("shipment %s: handed over (转投) to %s %s", shipment.id, carrier, number)
            shipment.tracked_carrier, shipment.tracked_number = carrier, number
            # A push subscription follows the old number: subscribe the new one, and
            # follow the new carrier at once (the new number was never asked).
            shipment.subscription_state = SubscriptionState.NONE
            shipment.next_poll_at = now
            shipment.last_polled_at = None  # poll times are per tracked number
            applied.transferred = True
    return applied


def _stop(shipment: Shipment, reason: StopReason, message: str = "") -> StopReason:
    shipment.stop_reason = reason
    shipment.next_poll_at = None
    if message:
        shipment.last_poll_error = message[:200]
    return reason


def reschedule(shipment: Shipment, now: datetime, policy: PollPolicy, *, retry_after: float | None = None,
               rng: random.Random | None = None) -> StopReason | None:
    """Set next_poll_at (or the stop reason) from the polling policy; return the stop reason."""
    decision = decide_next_poll(poll_state(shipment, retry_after), now, policy, rng or _rng)
    if decision.stop_reason is None and shipment.stop_reason in _WAITING_STOPS:
        return None  # waits for a person (digits, a corrected number), not for time
    if decision.expire:
        shipment.status = ShipmentStatus.EXPIRED
        shipment.substatus = "NO_UPDATE_TIMEOUT"
    if decision.stop_reason:
        shipment.stop_reason = decision.stop_reason
        shipment.next_poll_at = None
    else:
        shipment.next_poll_at = decision.next_poll_at
    return decision.stop_reason


def poll_state(shipment: Shipment, retry_after: float | None = None) -> PollState:
    """The policy's view of a shipment."""
    return PollState(
        status=shipment.status, registered_at=shipment.registered_at, provider=shipment.provider,
        last_event_at=shipment.last_event_at, last_polled_at=shipment.last_polled_at,
        failures=shipment.poll_failures or 0, retry_after=retry_after,
        push_subscribed=shipment.subscription_state == SubscriptionState.SUBSCRIBED,
        subscribed_at=shipment.subscribed_at, last_push_at=shipment.last_push_at,
    )


def record_poll_failure(shipment: Shipment, error: str, *, now: datetime, policy: PollPolicy,
                        retry_after: float | None = None) -> None:
    """Count a failed poll and back off (the policy adds jitter)."""
    shipment.poll_failures = (shipment.poll_failures or 0) + 1
    shipment.last_poll_error = error[:200]
    shipment.last_polled_at = now
    reschedule(shipment, now, policy, retry_after=retry_after)
    shipment.updated_at = now


def set_phone_last4(shipment: Shipment, phone_last4: str, *, now: datetime) -> bool:
    """Store the phone's last 4 digits; a shipment waiting for them is due again at once."""
    if not (isinstance(phone_last4, str) and len(phone_last4) == 4 and phone_last4.isdigit()):
        raise ValueError("phone_last4: expected exactly 4 digits")
    shipment.phone_last4 = phone_last4
    shipment.updated_at = now
    if shipment.stop_reason == StopReason.NEEDS_PHONE:
        shipment.stop_reason = None
        shipment.next_poll_at = now
        shipment.last_poll_error = None
        return True
    return False


def expire_after(policy: PollPolicy) -> timedelta:
    """How long without news before a shipment expires."""
    return timedelta(days=policy.expire_days)
