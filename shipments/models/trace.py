"""绩效可追: every poll of a shipment, and the upload a shipment came from."""
from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shipments.db import UTCDateTime, utcnow
from shipments.extensions import db
from shipments.models._types import BigIntPK, enum_column
from shipments.models.enums import PollOutcome
from shipments.models.organisations import Organisation

_BigIntFK = BigInteger().with_variant(Integer(), "sqlite")


class PollLog(db.Model):
    """One carrier question about one shipment: kept 90 days, then summarised (PollLogDay)."""

    __tablename__ = "poll_log"
    __table_args__ = (
        # A shipment's log, newest first (keyset by (sent_at, id)).
        Index("ix_poll_log_shipment_sent", "shipment_id", "sent_at"),
        # The retention job deletes by age.
        Index("ix_poll_log_sent", "sent_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(_BigIntFK, ForeignKey("shipments.id", ondelete="CASCADE"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    provider: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(10))  # track or subscribe
    http_status: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[PollOutcome] = mapped_column(enum_column(PollOutcome, "poll_outcome"))
    duration_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(200))


class PollLogDay(db.Model):
    """What the retention job keeps of old poll log rows: counts per Beijing day, provider and outcome."""

    __tablename__ = "poll_log_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    provider: Mapped[str] = mapped_column(String(16), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16), primary_key=True)
    polls: Mapped[int] = mapped_column(BigInteger, default=0)
    total_ms: Mapped[int] = mapped_column(BigInteger, default=0)


class ImportBatch(db.Model):
    """One upload (file or JSON array) with its per-row report."""

    __tablename__ = "import_batches"
    __table_args__ = (Index("ix_import_batches_org_created", "organisation_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    file_name: Mapped[str | None] = mapped_column(String(200))  # None: a JSON array
    uploaded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_by_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    invalid: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    # The row report as shown after the upload (ImportReport.as_dict("zh")); None while running.
    report: Mapped[dict | None] = mapped_column(JSON)

    organisation: Mapped[Organisation] = relationship()


class ShipmentChange(db.Model):
    """One field of a shipment changed after registration: who, when, old → new, through what."""

    __tablename__ = "shipment_changes"
    __table_args__ = (Index("ix_shipment_changes_shipment_changed", "shipment_id", "changed_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(_BigIntFK, ForeignKey("shipments.id", ondelete="CASCADE"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # form (portal edit), api (PATCH), paste (seller paste), import (re-upload), cancel
    source: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    field: Mapped[str] = mapped_column(String(40))
    old_value: Mapped[str | None] = mapped_column(String(200))
    new_value: Mapped[str | None] = mapped_column(String(200))
