"""Shipments and their tracking events."""
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean, CheckConstraint, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint, text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shipments.db import UTCDateTime, utcnow
from shipments.extensions import db
from shipments.models._types import BigIntPK, enum_column
from shipments.models.divisions import Division, Province, Station
from shipments.models.enums import (
    TERMINAL_STATUSES, Channel, Direction, EventSource, RegistrationSource, ShipmentStatus, StopReason,
    SubscriptionState, TrackingAlert,
)
from shipments.models.organisations import Organisation
from shipments.models.programs import Program
from shipments.models.trace import ImportBatch

_TERMINAL_SQL = ", ".join(f"'{s.value}'" for s in sorted(TERMINAL_STATUSES))


class Shipment(db.Model):
    """One parcel, identified by carrier and normalised tracking number."""

    __tablename__ = "shipments"
    __table_args__ = (
        UniqueConstraint("carrier", "tracking_number"),
        # The buyer's public lookup knows the number, not the carrier.
        Index("ix_shipments_tracking_number", "tracking_number"),
        # The list's search matches the number or the order reference (BitmapOr of both).
        Index("ix_shipments_order_ref", "order_ref"),
        CheckConstraint("pieces >= 1", name="pieces_positive"),
        CheckConstraint("weight_kg IS NULL OR weight_kg >= 0", name="weight_non_negative"),
        CheckConstraint("declared_value IS NULL OR declared_value >= 0", name="value_non_negative"),
        CheckConstraint("poll_failures >= 0", name="poll_failures_non_negative"),
        CheckConstraint("phone_last4 IS NULL OR length(phone_last4) = 4", name="phone_last4_length"),
        CheckConstraint("length(tracking_number) >= 6", name="tracking_number_length"),
        # The poller's "what is due" scan touches only live shipments.
        Index(
            "ix_shipments_due", "next_poll_at",
            postgresql_where=text(f"status NOT IN ({_TERMINAL_SQL})"),
            sqlite_where=text(f"status NOT IN ({_TERMINAL_SQL})"),
        ),
        Index("ix_shipments_program_registered", "program_id", "registered_at"),
        # A member's list, newest first (keyset order), its status or carrier filter checked on the
        # index entry, not the row: "delivered, sf" read ~4,800 rows at 10M to find 51.
        Index("ix_shipments_org_registered", "organisation_id", "registered_at", "id", "status", "carrier"),
        # Officials' lists and drill-downs: newest first over every organisation (keyset order); a
        # status or carrier filter is checked on the index entry, not the row (flat from 100k to 10M).
        Index("ix_shipments_registered", "registered_at", "id", "status", "carrier"),
        # The list flags, newest first over the few flagged rows.
        Index("ix_shipments_needs_phone", "registered_at", "id", postgresql_where=text("stop_reason = 'needs_phone'"),
              sqlite_where=text("stop_reason = 'needs_phone'")),
        Index("ix_shipments_expired", "registered_at", "id", postgresql_where=text("status = 'expired'"),
              sqlite_where=text("status = 'expired'")),
        Index("ix_shipments_pickup_overdue", "registered_at", "id",
              postgresql_where=text("pickup_overdue_at IS NOT NULL AND picked_up_at IS NULL"),
              sqlite_where=text("pickup_overdue_at IS NOT NULL AND picked_up_at IS NULL")),
        # Stalled (live, no news for 48 h): many rows, so the quiet time and a member's organisation
        # are index columns checked while walking newest first.
        Index("ix_shipments_stalled", "registered_at", "id", "organisation_id",
              text("coalesce(last_event_at, registered_at)"),
              postgresql_where=text(f"stop_reason IS NULL AND status NOT IN ({_TERMINAL_SQL})"),
              info={"only": "postgresql"}).ddl_if(dialect="postgresql"),
        # Late perishables (PostgreSQL keysets per program): the clock of parcels still
        # travelling, oldest first, and the trip of delivered ones, longest first.
        Index("ix_shipments_open_clock", "program_id", text("coalesce(picked_up_at, registered_at)"),
              postgresql_where=text("delivered_at IS NULL"), info={"only": "postgresql"}).ddl_if(dialect="postgresql"),
        Index("ix_shipments_trip", "program_id", text("(delivered_at - coalesce(picked_up_at, registered_at))"),
              postgresql_where=text("delivered_at IS NOT NULL"),
              info={"only": "postgresql"}).ddl_if(dialect="postgresql"),
        # ... and, with a first registration day, those picked up before they were registered (their clock
        # starts before that day): few rows; the open clocks are then read from that day on.
        Index("ix_shipments_early_pickup", "program_id", "picked_up_at",
              postgresql_where=text("delivered_at IS NULL AND picked_up_at < registered_at"),
              info={"only": "postgresql"}).ddl_if(dialect="postgresql"),
        # ... and of those that ended undelivered (returned, no news), longest first: few rows, which
        # otherwise meant reading every undelivered parcel of the program.
        Index("ix_shipments_ended_trip", "program_id",
              text("(last_event_at - coalesce(picked_up_at, registered_at))"),
              postgresql_where=text("delivered_at IS NULL AND status IN ('returned', 'expired')"),
              info={"only": "postgresql"}).ddl_if(dialect="postgresql"),
        # The portal's alert list and count: only the few shipments with an alert.
        Index("ix_shipments_org_alert", "organisation_id", "tracking_alert_at",
              postgresql_where=text("tracking_alert IS NOT NULL"), sqlite_where=text("tracking_alert IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    carrier: Mapped[str] = mapped_column(String(16))
    tracking_number: Mapped[str] = mapped_column(String(40))
    provider: Mapped[str] = mapped_column(String(16))
    program_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel"), default=Channel.OTHER)
    direction: Mapped[Direction] = mapped_column(enum_column(Direction, "direction"), default=Direction.OUTBOUND)
    origin_division_code: Mapped[str | None] = mapped_column(String(12), ForeignKey("divisions.code"))
    origin_station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), index=True)
    destination_station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), index=True)
    destination_province_code: Mapped[str | None] = mapped_column(String(6), ForeignKey("provinces.code"))
    destination_city: Mapped[str | None] = mapped_column(String(40))
    pieces: Mapped[int] = mapped_column(Integer, default=1)
    weight_kg: Mapped[Decimal | None] = mapped_column(Numeric(10, 3))
    declared_value: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    order_ref: Mapped[str | None] = mapped_column(String(64))
    # Only the last four digits: the full number is never stored (PIPL).
    phone_last4: Mapped[str | None] = mapped_column(String(4))
    batch_label: Mapped[str | None] = mapped_column(String(60))

    # Provenance (绩效可追): how it was registered, by whom, from which upload row.
    source: Mapped[RegistrationSource | None] = mapped_column(enum_column(RegistrationSource, "registration_source"))
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"), index=True)
    import_row: Mapped[int | None] = mapped_column(Integer)
    registered_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    registered_by_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))

    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    picked_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # First arrival at a station or locker (or delivery): the 次日递 end point, set when events are applied.
    first_station_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[ShipmentStatus] = mapped_column(
        enum_column(ShipmentStatus, "shipment_status"), default=ShipmentStatus.PENDING
    )
    substatus: Mapped[str | None] = mapped_column(String(40))
    at_station: Mapped[bool] = mapped_column(Boolean, default=False)
    # After a 转投 hand-over the parcel is followed under another carrier/number.
    tracked_carrier: Mapped[str | None] = mapped_column(String(16))
    tracked_number: Mapped[str | None] = mapped_column(String(40))

    # Poll state
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    poll_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_poll_error: Mapped[str | None] = mapped_column(String(200))
    stop_reason: Mapped[StopReason | None] = mapped_column(enum_column(StopReason, "stop_reason"))
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    subscription_state: Mapped[SubscriptionState] = mapped_column(
        enum_column(SubscriptionState, "subscription_state"), default=SubscriptionState.NONE
    )
    subscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_push_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pickup_overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    late_flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Carrier-side trouble for a person to look at (no record yet, tracking aborted).
    tracking_alert: Mapped[TrackingAlert | None] = mapped_column(enum_column(TrackingAlert, "tracking_alert"))
    tracking_alert_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A cancelled registration keeps its row (status `cancelled`) and says why.
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(200))

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    program: Mapped[Program | None] = relationship()
    organisation: Mapped[Organisation] = relationship()
    origin_division: Mapped[Division | None] = relationship()
    origin_station: Mapped[Station | None] = relationship(foreign_keys=[origin_station_id])
    destination_station: Mapped[Station | None] = relationship(foreign_keys=[destination_station_id])
    destination_province: Mapped[Province | None] = relationship()
    import_batch: Mapped["ImportBatch | None"] = relationship()
    events: Mapped[list["TrackingEvent"]] = relationship(
        back_populates="shipment", order_by="TrackingEvent.occurred_at", passive_deletes=True
    )

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class TrackingEvent(db.Model):
    """One carrier scan; unique per shipment on (time, description digest)."""

    __tablename__ = "tracking_events"
    __table_args__ = (
        UniqueConstraint("shipment_id", "dedupe_key"),
        # A parcel's timeline, oldest first, read from the index alone on PostgreSQL (the columns a
        # timeline shows are included): its events are spread over as many table pages as it has events.
        Index("ix_tracking_events_timeline", "shipment_id", "occurred_at", "id",
              postgresql_include=["status", "substatus", "location", "description", "raw_code", "source"]),
        # A station's (or centre's) scans by time: the station page's inbound list and the
        # centre cross-check read this index only (shipment_id included: index-only counts).
        # Partial: most events (hubs on the way) name no station of ours.
        Index("ix_tracking_events_station_occurred", "station_id", "occurred_at", "shipment_id",
              postgresql_where=text("station_id IS NOT NULL"), sqlite_where=text("station_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[ShipmentStatus] = mapped_column(enum_column(ShipmentStatus, "event_status"))
    substatus: Mapped[str | None] = mapped_column(String(40))
    location: Mapped[str | None] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(500))
    raw_code: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[EventSource] = mapped_column(enum_column(EventSource, "event_source"))
    # The station or centre of ours the event names, matched once when the event is
    # applied (services/network/matching.py), never searched for in text at read time.
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"))
    # sha1 of occurred_at (UTC ISO) + description: carriers repeat whole histories.
    dedupe_key: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    shipment: Mapped[Shipment] = relationship(back_populates="events")
