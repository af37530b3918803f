"""Periodic sweeps over live shipments: expiry, overdue pickups, late perishables."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update

from shipments.models import Program, Shipment
from shipments.models.enums import ShipmentStatus, StopReason
from shipments.services import webhooks
from shipments.services.polling import LIVE_SQL
from shipments.services.schedule import PollPolicy

RECENT = timedelta(days=45)
NOT_PICKED_UP = (ShipmentStatus.PENDING, ShipmentStatus.INFO_RECEIVED)


def expire_stale_shipments(session, *, now: datetime, policy: PollPolicy) -> int:
    """Mark live shipments without news for `expire_days` as expired; return how many."""
    cutoff = now - timedelta(days=policy.expire_days)
    result = session.execute(
        update(Shipment)
        .where(LIVE_SQL, func.coalesce(Shipment.last_event_at, Shipment.registered_at) < cutoff,
               or_(Shipment.lease_until.is_(None), Shipment.lease_until < now))
        .values(status=ShipmentStatus.EXPIRED, substatus="NO_UPDATE_TIMEOUT",
                stop_reason=StopReason.EXPIRED_NO_NEWS, next_poll_at=None, updated_at=now)
        .returning(Shipment.id)
        .execution_options(synchronize_session=False)
    )
    expired = result.scalars().all()
    webhooks.record_flagged(session, webhooks.STATUS_CHANGED, expired, now=now)
    return len(expired)


def flag_pickup_overdue(session, *, now: datetime, hours: float) -> int:
    """Flag, once, shipments with no pickup scan `hours` after registration; return how many."""
    result = session.execute(
        update(Shipment)
        .where(Shipment.pickup_overdue_at.is_(None), Shipment.picked_up_at.is_(None),
               Shipment.status.in_(NOT_PICKED_UP), Shipment.registered_at < now - timedelta(hours=hours))
        .values(pickup_overdue_at=now, updated_at=now)
        .returning(Shipment.id)
        .execution_options(synchronize_session=False)
    )
    flagged = result.scalars().all()
    webhooks.record_flagged(session, webhooks.PICKUP_OVERDUE, flagged, now=now)
    return len(flagged)


def flag_late_perishables(session, *, now: datetime, limit: int = 5000) -> int:
    """Flag, once, perishable shipments not delivered within their program's deadline."""
    flagged = 0
    programs = session.execute(select(Program.id, Program.deadline_hours)
                               .where(Program.perishable.is_(True), Program.deadline_hours.is_not(None)))
    for program_id, hours in programs.all():
        deadline = timedelta(hours=hours)
        start = func.coalesce(Shipment.picked_up_at, Shipment.registered_at)
        rows = session.execute(
            select(Shipment.id, Shipment.picked_up_at, Shipment.registered_at, Shipment.delivered_at)
            .where(Shipment.program_id == program_id, Shipment.late_flagged_at.is_(None), start < now - deadline,
                   # Older parcels were settled long ago; keeps the scan to the recent ones.
                   Shipment.registered_at > now - deadline - RECENT)
            .limit(limit)
        ).all()
        late = [r.id for r in rows
                if r.delivered_at is None or r.delivered_at > (r.picked_up_at or r.registered_at) + deadline]
        if late:
            session.execute(update(Shipment).where(Shipment.id.in_(late))
                            .values(late_flagged_at=now, updated_at=now)
                            .execution_options(synchronize_session=False))
            webhooks.record_flagged(session, webhooks.LATE_PERISHABLE, late, now=now)
            flagged += len(late)
    return flagged
