"""Shipping programs (寄递项目) and their participating organisations."""
from sqlalchemy import BigInteger, Boolean, CheckConstraint, Column, ForeignKey, Integer, String, Table
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shipments.extensions import db
from shipments.models._types import enum_column
from shipments.models.divisions import Division
from shipments.models.enums import Product
from shipments.models.organisations import Organisation

program_organisations = Table(
    "program_organisations",
    db.metadata,
    Column("program_id", ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True),
    Column("organisation_id", ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
)

TIERS = ((10_000_000, "千万件"), (1_000_000, "百万件"), (100_000, "十万件"))


class Program(db.Model):
    """A program with a target number of pieces for a year, shipped in a season."""

    __tablename__ = "programs"
    __table_args__ = (
        CheckConstraint("target_pieces >= 0", name="target_non_negative"),
        CheckConstraint("season_start_month BETWEEN 1 AND 12", name="season_start_month"),
        CheckConstraint("season_end_month BETWEEN 1 AND 12", name="season_end_month"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year_range"),
        CheckConstraint("target_scale >= 1", name="target_scale_positive"),
        CheckConstraint(
            "(NOT perishable) OR (deadline_hours IS NOT NULL AND deadline_hours > 0)",
            name="perishable_deadline",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    name_en: Mapped[str] = mapped_column(String(120))
    product: Mapped[Product] = mapped_column(enum_column(Product, "product"))
    county_code: Mapped[str] = mapped_column(String(12), ForeignKey("divisions.code"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    target_pieces: Mapped[int] = mapped_column(BigInteger)
    # Inclusive months; start > end wraps the new year (e.g. 11 → 2).
    season_start_month: Mapped[int] = mapped_column(Integer, default=1)
    season_end_month: Mapped[int] = mapped_column(Integer, default=12)
    perishable: Mapped[bool] = mapped_column(Boolean, default=False)
    deadline_hours: Mapped[int | None] = mapped_column(Integer)
    # Demo data only: the stored target is the real one divided by this, so a small demo shows real pace.
    target_scale: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())

    county: Mapped[Division] = relationship()
    organisations: Mapped[list[Organisation]] = relationship(secondary=program_organisations)

    @property
    def tier(self) -> str | None:
        """The program's tier name (千万件/百万件/十万件) from its target."""
        return next((name for floor, name in TIERS if self.target_pieces * self.target_scale >= floor), None)
