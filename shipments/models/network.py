"""The delivery network beyond stations: attendants, 客货邮 routes, centre volumes, station actions."""
from datetime import date, datetime

from sqlalchemy import (
    BigInteger, Column, Date, ForeignKey, Index, Integer, String, Table, UniqueConstraint, CheckConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shipments.db import UTCDateTime, utcnow
from shipments.extensions import db
from shipments.models._types import BigIntPK, enum_column
from shipments.models.divisions import Station
from shipments.models.enums import RouteKind, StationActionKind
from shipments.models.organisations import User

# Who may record arrivals and hand-overs at a station (a user may look after several).
station_attendants = Table(
    "station_attendants", db.metadata,
    Column("station_id", ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Route(db.Model):
    """A passenger-freight-mail (客货邮) line or a 共富邮路: ordered stops and a timetable."""

    __tablename__ = "routes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[RouteKind] = mapped_column(enum_column(RouteKind, "route_kind"))
    county_code: Mapped[str] = mapped_column(String(12), ForeignKey("divisions.code"), index=True)
    # Departure times, Beijing, "HH:MM" (e.g. ["07:30", "13:30"]).
    departures: Mapped[str] = mapped_column(String(120), default="")
    operator: Mapped[str | None] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(default=True)

    stops: Mapped[list["RouteStop"]] = relationship(
        back_populates="route", order_by="RouteStop.position", cascade="all, delete-orphan")


class RouteStop(db.Model):
    """One stop of a route, in order; minutes after departure."""

    __tablename__ = "route_stops"
    __table_args__ = (
        UniqueConstraint("route_id", "station_id"),
        CheckConstraint("position >= 1", name="position_positive"),
    )

    route_id: Mapped[int] = mapped_column(ForeignKey("routes.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), index=True)
    minutes: Mapped[int] = mapped_column(Integer, default=0)

    route: Mapped[Route] = relationship(back_populates="stops")
    station: Mapped[Station] = relationship()


class CentreDay(db.Model):
    """What a co-distribution centre says it sorted on one Beijing day (form, CSV or equipment API)."""

    __tablename__ = "centre_days"
    __table_args__ = (CheckConstraint("sorted_pieces >= 0", name="sorted_non_negative"),)

    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    sorted_pieces: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(10))  # form, csv, api, demo
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CentreCapacity(db.Model):
    """A centre's daily sorting capacity from a day on (new equipment, a new line)."""

    __tablename__ = "centre_capacities"
    __table_args__ = (CheckConstraint("daily_capacity > 0", name="capacity_positive"),)

    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True)
    effective_from: Mapped[date] = mapped_column(Date, primary_key=True)
    daily_capacity: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(120))


class StationAction(db.Model):
    """One attendant action, kept under its idempotency key: a replay records nothing twice."""

    __tablename__ = "station_actions"
    __table_args__ = (
        UniqueConstraint("station_id", "idempotency_key"),
        Index("ix_station_actions_station_recorded", "station_id", "recorded_at"),
        # The network view's "heard from in the last 14 days" across all stations.
        Index("ix_station_actions_recorded", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    idempotency_key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[StationActionKind] = mapped_column(enum_column(StationActionKind, "station_action_kind"))
    shipment_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"),
                                             ForeignKey("shipments.id", ondelete="CASCADE"), index=True)
    # When it happened at the station (the phone's clock, possibly offline), and when we heard of it.
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    station: Mapped[Station] = relationship()
    user: Mapped[User] = relationship()
    shipment: Mapped["Shipment"] = relationship()  # noqa: F821 (models/shipments.py)
