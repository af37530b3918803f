"""Value objects shared by every provider: requests, statuses, events, outcomes."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable


class Status(str, enum.Enum):
    """Normalised shipment status (STATUS_MODEL.md §1), stored lower-case."""

    PENDING = "pending"
    INFO_RECEIVED = "info_received"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    AVAILABLE_FOR_PICKUP = "available_for_pickup"
    ATTEMPT_FAIL = "attempt_fail"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    RETURNING = "returning"
    RETURNED = "returned"
    EXPIRED = "expired"
    # Ours, never a carrier's: the registration was withdrawn (wrong parcel, refund).
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value

    @property
    def is_terminal(self) -> bool:
        """Tell whether polling can stop at this status."""
        return self in TERMINAL


TERMINAL = frozenset({Status.DELIVERED, Status.RETURNED, Status.EXPIRED, Status.CANCELLED})

# Substatus names used by the mapping tables (STATUS_MODEL.md §1).
PICKED_UP = "PICKED_UP"
TRANSFERRED = "TRANSFERRED"
COLLECTED = "COLLECTED_FROM_LOCKER_OR_STATION"


@dataclass(frozen=True)
class TrackRequest:
    """One number to track. `carrier` is our carrier code (ems, sf, zto, ..., sandbox)."""

    carrier: str
    number: str
    phone_last4: str | None = None
    registered_at: datetime | None = None


@dataclass(frozen=True)
class TrackEvent:
    """One carrier scan. `occurred_at` is an aware UTC datetime."""

    occurred_at: datetime
    status: Status
    description: str
    location: str | None = None
    raw_code: str | None = None
    substatus: str | None = None


@dataclass(frozen=True)
class TrackResult:
    """Normalised tracking state of one number (events oldest first, de-duplicated)."""

    number: str
    carrier: str
    status: Status
    substatus: str | None
    raw_state: str | None
    events: tuple[TrackEvent, ...]
    picked_up_at: datetime | None = None
    delivered_at: datetime | None = None
    at_station: bool = False
    transferred_to: tuple[str, str] | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)
    tracking_stopped: bool = False  # aggregator gave up (Kuaidi100 abort, 17TRACK TRACKING_STOPPED)
    no_record: bool = False  # ... because it never found the number (Kuaidi100 "3天查询无记录")

    @property
    def latest_event_time(self) -> datetime | None:
        """Return the newest event time, or None without events."""
        return self.events[-1].occurred_at if self.events else None

    @property
    def terminal(self) -> bool:
        return self.status.is_terminal


@dataclass(frozen=True)
class TrackProblem:
    """A per-number outcome returned instead of a TrackResult (nothing was raised)."""

    request: TrackRequest
    message: str = ""
    raw: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class NotFoundYet(TrackProblem):
    """The provider has no record yet; ask again later."""


@dataclass(frozen=True)
class InvalidNumber(TrackProblem):
    """The number (or number+carrier) is not trackable as given."""


@dataclass(frozen=True)
class NeedsPhone(TrackProblem):
    """The provider needs the last 4 digits of a phone number for this carrier."""


TrackOutcome = TrackResult | TrackProblem


def dedupe_events(events: Iterable[TrackEvent]) -> tuple[TrackEvent, ...]:
    """Return events oldest first, de-duplicated on (occurred_at, description).

    The sort is stable: callers pass events in chronological source order so ties
    keep the provider's order.
    """
    seen: set[tuple[datetime, str]] = set()
    out: list[TrackEvent] = []
    for ev in sorted(events, key=lambda e: e.occurred_at):
        key = (ev.occurred_at, ev.description.strip())
        if key in seen:
            continue
        seen.add(key)
        out.append(ev)
    return tuple(out)


def build_result(
    *,
    number: str,
    carrier: str,
    status: Status,
    substatus: str | None,
    raw_state: str | None,
    events: Iterable[TrackEvent],
    raw: dict | None = None,
    picked_up_at: datetime | None = None,
    delivered_at: datetime | None = None,
    transferred_to: tuple[str, str] | None = None,
    tracking_stopped: bool = False,
) -> TrackResult:
    """Assemble a TrackResult, deriving the computed fields from the events.

    picked_up_at: first PICKED_UP event (else the given value); delivered_at:
    earliest DELIVERED event, or the latest event time when only the shipment
    status says delivered; at_station: any locker/station event or a
    collected-from-station sign-off; transferred_to: parsed from a 转投 event.
    """
    from .text import parse_transfer  # local import: text imports models

    evs = dedupe_events(events)
    if picked_up_at is None:
        picked_up_at = next((e.occurred_at for e in evs if e.substatus == PICKED_UP), None)
    if delivered_at is None:
        delivered_at = next((e.occurred_at for e in evs if e.status is Status.DELIVERED), None)
        if delivered_at is None and status is Status.DELIVERED and evs:
            delivered_at = evs[-1].occurred_at
    at_station = (
        status is Status.AVAILABLE_FOR_PICKUP
        or substatus == COLLECTED
        or any(e.status is Status.AVAILABLE_FOR_PICKUP or e.substatus == COLLECTED for e in evs)
    )
    if transferred_to is None:
        for e in evs:
            if e.substatus == TRANSFERRED or "转投" in e.description:
                found = parse_transfer(e.description)
                if found:
                    transferred_to = found
                    break
    return TrackResult(
        number=number,
        carrier=carrier,
        status=status,
        substatus=substatus,
        raw_state=raw_state,
        events=evs,
        picked_up_at=picked_up_at,
        delivered_at=delivered_at,
        at_station=at_station,
        transferred_to=transferred_to,
        raw=raw if raw is not None else {},
        tracking_stopped=tracking_stopped,
    )


def utc(dt: datetime) -> datetime:
    """Return an aware datetime converted to UTC (naive input is rejected)."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime; expected an aware one")
    return dt.astimezone(timezone.utc)
