"""Operational state: imports that outlive their request, and the scheduler's heartbeat."""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shipments.db import UTCDateTime, utcnow
from shipments.extensions import db


class ImportJob(db.Model):
    """One uploaded file being imported: where it got to, and its report so far."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running, done, failed
    # The kept file (instance/imports/<file_key>) and how to import it.
    file_key: Mapped[str] = mapped_column(String(64))
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)  # rows read (the report's `rows`)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)  # estimated from the file
    report: Mapped[dict] = mapped_column(JSON, default=dict)  # ImportReport.state(): counts and problems
    error: Mapped[str | None] = mapped_column(String(200))
    # Whoever works on it holds it until then; a dead worker's import is picked up after.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Heartbeat(db.Model):
    """The last time a process of some kind (the scheduler) showed it was alive."""

    __tablename__ = "heartbeats"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
