"""Report rollups: shipment counts per Beijing day, kept exact by triggers.

Database triggers on `shipments` (migration 0004_reports) append signed
deltas to `report_deltas` in the same transaction as the change they count;
`services.reports.refresh_rollups` folds them into the four rollup tables
every minute. Readers add the unfolded deltas, so figures are exact at any
moment. Nullable dimensions are stored as sentinels ('' or 0) so that the
composite primary keys can be upserted on both databases.
"""
from datetime import date

from sqlalchemy import BigInteger, Date, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from shipments.extensions import db
from shipments.models._types import BigIntPK

# The dimensions of the fine rollup, in key order (also the delta columns).
FINE_DIMENSIONS = (
    "day", "program_id", "organisation_id", "county_code", "township_code", "station_id",
    "carrier", "status", "direction", "channel", "province_code",
)
MEASURES = ("shipments", "pieces", "value_fen")
# The dimensions report_program_dims holds beside program × day × county (one at a time).
DIMENSIONS = ("carrier", "status", "direction", "channel", "province_code")


class _Measures:
    shipments: Mapped[int] = mapped_column(BigInteger, default=0)
    pieces: Mapped[int] = mapped_column(BigInteger, default=0)
    # Declared value in fen (分): integer sums stay exact on SQLite too.
    value_fen: Mapped[int] = mapped_column(BigInteger, default=0)


class ReportDay(_Measures, db.Model):
    """Shipments per Beijing registration day at the full grain of every report grouping."""

    __tablename__ = "report_days"
    __table_args__ = (
        # Buckets a status change emptied: the fold deletes them through this index.
        Index("ix_report_days_empty", "shipments", postgresql_where=text("shipments = 0"),
              sqlite_where=text("shipments = 0")),
    )

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    program_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0: no program
    organisation_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    county_code: Mapped[str] = mapped_column(String(12), primary_key=True)  # '': unknown
    township_code: Mapped[str] = mapped_column(String(12), primary_key=True)  # '': unknown
    station_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # local village station, 0: none
    carrier: Mapped[str] = mapped_column(String(16), primary_key=True)
    status: Mapped[str] = mapped_column(String(24), primary_key=True)
    direction: Mapped[str] = mapped_column(String(16), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    province_code: Mapped[str] = mapped_column(String(6), primary_key=True)  # '': unknown


class ReportProgramDay(_Measures, db.Model):
    """Shipments per program, Beijing day and county: the coarse rollup for program totals."""

    __tablename__ = "report_program_days"

    program_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    county_code: Mapped[str] = mapped_column(String(12), primary_key=True)


class ReportProgramMonth(_Measures, db.Model):
    """Shipments per program, Beijing month and county: month/season totals over many programs."""

    __tablename__ = "report_program_months"

    program_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # the month's first day
    county_code: Mapped[str] = mapped_column(String(12), primary_key=True)


class ReportProgramDim(_Measures, db.Model):
    """Shipments per program, Beijing day, county and the value of ONE other dimension.

    Each shipment is counted once per dimension in DIMENSIONS (`dimension`
    names the column, `value` holds its value): program/county/date reports
    grouped or filtered by one of those dimensions read a few per cent of
    the rows of report_days.
    """

    __tablename__ = "report_program_dims"
    __table_args__ = (
        Index("ix_report_program_dims_empty", "shipments", postgresql_where=text("shipments = 0"),
              sqlite_where=text("shipments = 0")),
    )

    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)  # a name in DIMENSIONS
    program_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    county_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    value: Mapped[str] = mapped_column(String(24), primary_key=True)


class ReportDelta(_Measures, db.Model):
    """A signed change to the rollups, appended by the shipments triggers, folded every minute."""

    __tablename__ = "report_deltas"
    __table_args__ = (Index("ix_report_deltas_program_day", "program_id", "day"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    program_id: Mapped[int] = mapped_column(Integer)
    organisation_id: Mapped[int] = mapped_column(Integer)
    county_code: Mapped[str] = mapped_column(String(12))
    township_code: Mapped[str] = mapped_column(String(12))
    station_id: Mapped[int] = mapped_column(Integer)
    carrier: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24))
    direction: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    province_code: Mapped[str] = mapped_column(String(6))
