"""Administrative divisions, destination provinces and network stations."""
from decimal import Decimal

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shipments.extensions import db
from shipments.models._types import enum_column
from shipments.models.enums import DivisionLevel, StationKind, StationLevel


class Division(db.Model):
    """A Shaoxing county-level unit or township (GB/T 2260 / NBS codes)."""

    __tablename__ = "divisions"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    name_en: Mapped[str] = mapped_column(String(80))
    level: Mapped[DivisionLevel] = mapped_column(enum_column(DivisionLevel, "division_level"))
    parent_code: Mapped[str | None] = mapped_column(String(12), ForeignKey("divisions.code"), index=True)

    parent: Mapped["Division | None"] = relationship(remote_side=[code])


class Province(db.Model):
    """A destination province (GB/T 2260 province-level code)."""

    __tablename__ = "provinces"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(20))
    short_name: Mapped[str] = mapped_column(String(10))
    name_en: Mapped[str] = mapped_column(String(40))
    region: Mapped[str] = mapped_column(String(30))
    remote: Mapped[bool] = mapped_column(Boolean, default=False)


class Station(db.Model):
    """A node of the county/township/village delivery network ("7+31+N")."""

    __tablename__ = "stations"
    __table_args__ = (
        CheckConstraint(
            "(level = 'village') = (kind != 'co_distribution_centre')", name="centre_level"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    level: Mapped[StationLevel] = mapped_column(enum_column(StationLevel, "station_level"))
    kind: Mapped[StationKind] = mapped_column(enum_column(StationKind, "station_kind"))
    division_code: Mapped[str] = mapped_column(String(12), ForeignKey("divisions.code"), index=True)
    # True where the demo data had to guess (the article's 7th county centre).
    assumed: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(String(200))
    # The census ("普查") identifier, when the station came from a census file.
    census_code: Mapped[str | None] = mapped_column(String(30), index=True, unique=True)
    # Optional position (GCJ-02, as the county map): the census does not always have it.
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    # Carrier codes whose parcels this station handles (["ems", "zto", …]).
    brands: Mapped[list] = mapped_column(JSON, default=list)
    # 邮快合作: China Post carries the private carriers' parcels to this village.
    post_express: Mapped[bool] = mapped_column(Boolean, default=False)
    attendant_name: Mapped[str | None] = mapped_column(String(40))
    # Other names carriers' scans use for this place ("王化村", "柯桥分拨中心"): matched with
    # the name when an event is applied (services/network/matching.py).
    aliases: Mapped[list] = mapped_column(JSON, default=list)
    # Co-distribution centres: parcels a day the sorting line can handle.
    daily_capacity: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    division: Mapped[Division] = relationship()
