"""What the service depends on, and whether each answers: for /healthz and operators."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shipments.db import utcnow
from shipments.models import Heartbeat

SCHEDULER = "scheduler"


def record_heartbeat(session: Session, name: str = SCHEDULER, now: datetime | None = None) -> None:
    """Note that a process of kind `name` is alive (the caller commits)."""
    now = now or utcnow()
    if not session.execute(update(Heartbeat).where(Heartbeat.name == name).values(beat_at=now)).rowcount:
        session.add(Heartbeat(name=name, beat_at=now))
        session.flush()


def check_database(session: Session) -> bool:
    """True when the database answers."""
    try:
        session.execute(select(1))
        return True
    except SQLAlchemyError:
        session.rollback()
        return False


def check_redis(url: str | None) -> str:
    """"ok", "unreachable" or "not configured"."""
    if not url:
        return "not configured"
    from shipments.services.quotas import redis_client, redis_errors

    try:
        client = redis_client(url)
        client.connection_pool.connection_kwargs.update(socket_timeout=1, socket_connect_timeout=1)
        client.ping()
        return "ok"
    except redis_errors():
        return "unreachable"


def scheduler_state(session: Session, tick_seconds: float, now: datetime | None = None) -> dict:
    """The scheduler's last heartbeat: ok within three ticks, else stale (or never seen)."""
    now = now or utcnow()
    beat = session.scalar(select(Heartbeat.beat_at).where(Heartbeat.name == SCHEDULER))
    if beat is None:
        return {"status": "never seen", "last_beat": None}
    age = (now - beat).total_seconds()
    return {"status": "ok" if age <= 3 * tick_seconds else "stale", "last_beat": beat.isoformat(),
            "age_seconds": int(age)}


def health(session: Session, config, now: datetime | None = None) -> tuple[dict, int]:
    """Each dependency's state and the HTTP status: 503 only when the database is down (nothing works
    without it); Redis down or a silent scheduler degrade the service and are reported, with 200."""
    if not check_database(session):
        return {"status": "unavailable", "database": "unreachable", "redis": check_redis(config.get("REDIS_URL")),
                "scheduler": {"status": "unknown"}}, 503
    redis = check_redis(config.get("REDIS_URL"))
    scheduler = scheduler_state(session, float(config["POLL_TICK_SECONDS"]), now)
    degraded = redis == "unreachable" or scheduler["status"] != "ok"
    return {"status": "degraded" if degraded else "ok", "database": "ok", "redis": redis,
            "scheduler": scheduler}, 200
