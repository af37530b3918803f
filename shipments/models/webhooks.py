"""Outbound webhooks: an organisation's subscriptions and the outbox of deliveries."""
from datetime import datetime

from sqlalchemy import (
    JSON, BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shipments.db import UTCDateTime, utcnow
from shipments.extensions import db
from shipments.models._types import BigIntPK, enum_column
from shipments.models.enums import DeliveryState
from shipments.models.organisations import Organisation


class WebhookSubscription(db.Model):
    """A target URL of an organisation's own system and the events it wants.

    The secret is kept as given to the subscriber (HMAC needs it); it is shown
    once at creation and never logged. After a rotation the previous secret
    signs too, until `previous_secret_until`.
    """

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(String(100))
    events: Mapped[list] = mapped_column(JSON)  # event names, see services/webhooks/subscriptions.EVENTS
    statuses: Mapped[list] = mapped_column(JSON)  # shipment.status_changed only for these ([] = every status)
    secret: Mapped[str] = mapped_column(String(64))
    previous_secret: Mapped[str | None] = mapped_column(String(64))
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(String(20))  # "manual" or "failing"
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)  # first failure after the last success
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    organisation: Mapped[Organisation] = relationship()


class WebhookDelivery(db.Model):
    """One event for one subscriber: the outbox row, written with the change it reports.

    Unique on (subscription, event id): the same change can only be queued
    once for a subscriber. The body is fixed at write time, so every attempt
    sends the same bytes (only the timestamp and signature are new).
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        # The delivery worker's "what is due" scan, per subscriber.
        Index("ix_webhook_deliveries_due", "subscription_id", "next_attempt_at",
              postgresql_where=text("state = 'pending'"), sqlite_where=text("state = 'pending'")),
        # In flight (leased) deliveries: the per-subscriber concurrency count.
        Index("ix_webhook_deliveries_leased", "subscription_id",
              postgresql_where=text("lease_owner IS NOT NULL"), sqlite_where=text("lease_owner IS NOT NULL")),
        # The delivery log, newest first, keyset-paged by id.
        Index("ix_webhook_deliveries_log", "subscription_id", "id"),
        Index("ix_webhook_deliveries_failed", "subscription_id",
              postgresql_where=text("state = 'failed'"), sqlite_where=text("state = 'failed'")),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(40))
    event: Mapped[str] = mapped_column(String(40))
    shipment_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[DeliveryState] = mapped_column(enum_column(DeliveryState, "delivery_state"),
                                                 default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_duration_ms: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(200))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    subscription: Mapped[WebhookSubscription] = relationship()
