"""Administrative divisions, destination provinces and network stations."""
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String
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

    division: Mapped[Division] = relationship()
