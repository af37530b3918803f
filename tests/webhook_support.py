"""Helpers for the webhook tests and bench/webhooks.py: subscriptions and status changes with real commits."""
from __future__ import annotations

from datetime import datetime, timedelta

from integrations.models import Status, TrackEvent, TrackResult
from shipments.config import DEFAULTS
from shipments.db import utcnow
from shipments.models.enums import EventSource
from shipments.services import tracking
from shipments.services.schedule import PollPolicy

# A parcel's life, one status per step (each a change from the one before).
STEPS = (Status.INFO_RECEIVED, Status.IN_TRANSIT, Status.OUT_FOR_DELIVERY, Status.DELIVERED)
START = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(days=1)


def result_at_step(shipment, step: int) -> TrackResult:
    """The carrier's answer after `step` + 1 scans: the status of STEPS[step]."""
    events = tuple(TrackEvent(START + timedelta(hours=i), STEPS[i], f"scan {i} {STEPS[i].value}")
                   for i in range(step + 1))
    return TrackResult(number=shipment.tracking_number, carrier=shipment.carrier, status=STEPS[step],
                       substatus=None, raw_state=None, events=events)


def apply_step(session, shipment, step: int, now: datetime, policy: PollPolicy | None = None):
    """Apply a carrier answer through the one path polls and pushes use."""
    return tracking.apply_track_outcome(session, shipment, result_at_step(shipment, step), source=EventSource.PUSH,
                                        now=now, policy=policy or PollPolicy.from_config(DEFAULTS))
