"""The poll log: one row per carrier question about a shipment (绩效可追).

Rows are written by the poll cycle in the same transaction as the answers they
led to. They are kept `POLL_LOG_KEEP_DAYS` (90) days; the retention job then
folds them into per-day counts (poll_log_days) and deletes them, a bounded
batch at a time.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import Select, and_, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from integrations.models import InvalidNumber, NeedsPhone, NotFoundYet, TrackResult
from shipments.models import PollLog, PollLogDay
from shipments.models.enums import PollOutcome

__all__ = ["PollOutcome", "outcome_of", "poll_row", "record_polls", "shipment_polls", "summarise_old_polls"]

BEIJING = timezone(timedelta(hours=8))


def outcome_of(kind: str, outcome) -> PollOutcome:
    """The log's word for one per-number answer of a track or subscribe call."""
    if kind == "subscribe":
        if outcome is None:
            return PollOutcome.SUBSCRIBED
    if isinstance(outcome, TrackResult):
        return PollOutcome.OK
    if isinstance(outcome, InvalidNumber):
        return PollOutcome.INVALID_NUMBER
    if isinstance(outcome, NeedsPhone):
        return PollOutcome.NEEDS_PHONE
    if isinstance(outcome, NotFoundYet):
        return PollOutcome.NOT_FOUND
    return PollOutcome.REFUSED if kind == "subscribe" else PollOutcome.NOT_FOUND


def poll_row(shipment_id: int, *, sent_at: datetime, provider: str, kind: str, outcome: PollOutcome,
             duration_ms: int, http_status: int | None = None, error: str | None = None) -> dict:
    """One poll log row as plain values (see record_polls)."""
    return {"shipment_id": shipment_id, "sent_at": sent_at, "provider": provider, "kind": kind,
            "http_status": http_status, "outcome": outcome, "duration_ms": max(0, int(duration_ms)),
            "error": (error or None) and error[:200]}


def record_polls(session: Session, rows: list[dict]) -> int:
    """Insert poll log rows (one executemany)."""
    if rows:
        session.execute(PollLog.__table__.insert(), rows)
    return len(rows)


def shipment_polls(shipment_id: int, after: tuple[datetime, int] | None = None) -> Select:
    """Select a shipment's poll log, newest first, after a (sent_at, id) keyset position."""
    query = select(PollLog).where(PollLog.shipment_id == shipment_id)
    if after is not None:
        at, ident = after
        query = query.where(or_(PollLog.sent_at < at, and_(PollLog.sent_at == at, PollLog.id < ident)))
    return query.order_by(PollLog.sent_at.desc(), PollLog.id.desc())


def summarise_old_polls(session: Session, now: datetime, keep_days: int = 90, batch: int = 10_000) -> int:
    """Fold poll log rows older than `keep_days` into per-day counts and delete them; return how many.

    Works oldest first, `batch` rows at a time (the caller commits each call),
    so a backlog never holds one huge transaction.
    """
    cutoff = now - timedelta(days=keep_days)
    rows = session.execute(
        select(PollLog.id, PollLog.sent_at, PollLog.provider, PollLog.outcome, PollLog.duration_ms)
        .where(PollLog.sent_at < cutoff).order_by(PollLog.sent_at, PollLog.id).limit(batch)).all()
    if not rows:
        return 0
    sums: dict[tuple, list[int]] = {}
    for row in rows:
        key = (row.sent_at.astimezone(BEIJING).date(), row.provider, str(row.outcome))
        entry = sums.setdefault(key, [0, 0])
        entry[0] += 1
        entry[1] += row.duration_ms
    values = [{"day": d, "provider": p, "outcome": o, "polls": n, "total_ms": ms} for (d, p, o), (n, ms) in sums.items()]
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(PollLogDay.__table__)
    session.execute(insert.on_conflict_do_update(
        index_elements=["day", "provider", "outcome"],
        set_={"polls": PollLogDay.__table__.c.polls + insert.excluded.polls,
              "total_ms": PollLogDay.__table__.c.total_ms + insert.excluded.total_ms}), values)
    session.execute(delete(PollLog).where(PollLog.id.in_([row.id for row in rows])))
    return len(rows)


def poll_days(session: Session) -> Select:
    """Select the summarised poll counts, newest day first."""
    return select(PollLogDay).order_by(PollLogDay.day.desc(), PollLogDay.provider, PollLogDay.outcome)


def count_polls(session: Session, shipment_id: int) -> int:
    """How many polls of a shipment are in the log."""
    return session.scalar(select(func.count()).select_from(PollLog).where(PollLog.shipment_id == shipment_id))
