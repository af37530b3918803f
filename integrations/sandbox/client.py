"""Sandbox provider: no network, answers from `timeline()` up to `clock()`."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from ..base import Provider
from ..models import (InvalidNumber, NotFoundYet, TrackRequest, TrackResult, TrackProblem,
                      build_result)
from ..numbers import normalise_number
from .timeline import DEFAULT_KNOBS, NUMBER_RE, timeline, transfer_number


class SandboxProvider(Provider):
    """Deterministic simulated carrier; knobs as in `timeline()`; `clock` returns aware UTC now."""

    code = "sandbox"
    max_batch = 100
    supports_push = False

    def __init__(self, *, clock: Callable[[], datetime] | None = None, **knobs: float):
        unknown = set(knobs) - set(DEFAULT_KNOBS) - {"url", "timeout"}
        if unknown:
            raise TypeError(f"unknown sandbox settings: {sorted(unknown)}")
        knobs.pop("url", None)
        knobs.pop("timeout", None)
        super().__init__(url="sandbox:")
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.knobs = knobs

    def _track_batch(self, batch):
        now = self.clock()
        return [self._one(req, now) for req in batch]

    def _one(self, req: TrackRequest, now: datetime) -> TrackResult | TrackProblem:
        number = normalise_number(req.number)
        if not NUMBER_RE.match(number):
            return InvalidNumber(req, "not a sandbox number (SBX + 10 digits)")
        if req.registered_at is None:
            return InvalidNumber(req, "sandbox requests need registered_at")
        events = [e for e in timeline(number, req.registered_at, **self.knobs) if e.occurred_at <= now]
        if not events:
            return NotFoundYet(req, "no events yet")
        last = events[-1]
        transferred = ("chinapost", transfer_number(number)) if any(e.raw_code == "TRANSFER" for e in events) else None
        return build_result(number=number, carrier=req.carrier or "sandbox", status=last.status,
                            substatus=last.substatus, raw_state=last.raw_code, events=events,
                            transferred_to=transferred,
                            raw={"number": number, "state": last.raw_code, "events": len(events)})
