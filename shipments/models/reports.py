"""Report rollups: shipment counts per Beijing day, kept exact by triggers.

Database triggers on `shipments` (migration 0004_reports) append signed
deltas to `report_deltas` in the same transaction as the change they count;
`services.reports.refresh_rollups` folds them into the four rollup tables
every minute. Readers add the unfolded deltas, so figures are exact at any
moment. Nullable dimensions are stored as sentinels ('' or 0) so that the
composite primary keys can be upserted on both databases.
"""
from datetime import date

from sqlalchemy import BigInteger, Boolean, Date, Index, Integer, String, text
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
# township_code (migration 0007_scale): program progress splits every program's season by township.
DIMENSIONS = ("carrier", "status", "direction", "channel", "province_code", "township_code")


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


# --- Delivery quality (migration 0007_scale) ------------------------------------
# One shipment's quality key: registration day, program, carrier, destination
# province, its transit-hour bucket (HOURS_NONE when not both picked up and
# delivered) and, only while it is picked up but has reached no station, its
# Beijing pickup day (NO_PICKUP_DAY otherwise): the 次日递 deadline of those
# is the end of the day after, so "late" vs "still in time" is decided at
# read time from that day. Measures are counts per bucket.
QUALITY_KEYS = ("day", "program_id", "carrier", "province_code", "hours", "pickup_day")
QUALITY_MEASURES = ("shipments", "picked_24h", "no_pickup", "on_time", "late", "unarrived", "exceptions", "returns")
HOURS_NONE = -1
NO_PICKUP_DAY = date(2000, 1, 1)


def hours_bucket_bounds() -> list[tuple[int, int]]:
    """Transit-hour buckets as (lower, upper) hours: 2 h to 96 h, 12 h to 168 h, 24 h to 336 h, then one."""
    bounds = [(h, h + 2) for h in range(0, 96, 2)] + [(h, h + 12) for h in range(96, 168, 12)]
    bounds += [(h, h + 24) for h in range(168, 336, 24)]
    return bounds + [(336, 336)]


class _QualityMeasures:
    shipments: Mapped[int] = mapped_column(BigInteger, default=0)
    picked_24h: Mapped[int] = mapped_column(BigInteger, default=0)  # picked up within 24 h of registration
    no_pickup: Mapped[int] = mapped_column(BigInteger, default=0)
    on_time: Mapped[int] = mapped_column(BigInteger, default=0)  # reached a station before the next-day deadline
    late: Mapped[int] = mapped_column(BigInteger, default=0)  # reached one after it
    unarrived: Mapped[int] = mapped_column(BigInteger, default=0)  # picked up, no station yet
    exceptions: Mapped[int] = mapped_column(BigInteger, default=0)
    returns: Mapped[int] = mapped_column(BigInteger, default=0)


class ReportQualityDay(_QualityMeasures, db.Model):
    """Delivery-quality counts and the transit-hour histogram per program × carrier × province × Beijing day."""

    __tablename__ = "report_quality_days"
    __table_args__ = (
        Index("ix_report_quality_days_empty", "shipments", postgresql_where=text("shipments = 0"),
              sqlite_where=text("shipments = 0")),
        # "Still within the next-day window": the last two pickup days only. On PostgreSQL it holds what
        # the quality report sums from those rows (an index-only scan: ~18k rows at 10M were ~16k pages).
        Index("ix_report_quality_days_pickup_day", "pickup_day", postgresql_where=text("unarrived <> 0"),
              sqlite_where=text("unarrived <> 0"),
              postgresql_include=["day", "program_id", "carrier", "province_code", "unarrived"]),
    )

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    program_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    carrier: Mapped[str] = mapped_column(String(16), primary_key=True)
    province_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    hours: Mapped[int] = mapped_column(Integer, primary_key=True)  # bucket's lower bound, HOURS_NONE: no transit
    pickup_day: Mapped[date] = mapped_column(Date, primary_key=True)


# The histogram as one column per bucket (migration 0013_perfrep_quality): a key's
# histogram is one row instead of one row per bucket, on both databases.
HOUR_BUCKETS = tuple(low for low, _ in hours_bucket_bounds())
HIST_COLUMNS = tuple(f"h{low:03d}" for low in HOUR_BUCKETS)


class _Histogram:
    """Picked-up-and-delivered shipments per transit-hour bucket: column hNNN holds the bucket from NNN hours."""


for _column in HIST_COLUMNS:
    setattr(_Histogram, _column, mapped_column(BigInteger, nullable=False, default=0))


class ReportQualityMonth(_QualityMeasures, _Histogram, db.Model):
    """Quality counts and the transit-hour histogram per Beijing month × program × carrier × destination province.

    One row per key (the histogram in columns): a year of every program is
    at most 12 × programs × carriers × provinces rows, whatever the volume.
    """

    __tablename__ = "report_quality_months"
    __table_args__ = (
        Index("ix_report_quality_months_empty", "shipments", postgresql_where=text("shipments = 0"),
              sqlite_where=text("shipments = 0")),
    )

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    program_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    carrier: Mapped[str] = mapped_column(String(16), primary_key=True)
    province_code: Mapped[str] = mapped_column(String(6), primary_key=True)


class ReportQualityCarrierMonth(_QualityMeasures, _Histogram, db.Model):
    """The same without the province: the dashboard's quality by program × carrier reads a few rows a month."""

    __tablename__ = "report_quality_carrier_months"
    __table_args__ = (
        Index("ix_report_quality_carrier_months_empty", "shipments", postgresql_where=text("shipments = 0"),
              sqlite_where=text("shipments = 0")),
    )

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    program_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    carrier: Mapped[str] = mapped_column(String(16), primary_key=True)


class ReportQualityYear(_QualityMeasures, _Histogram, db.Model):
    """The same per Beijing year × program × carrier × province (migration 0013_perfrep_years).

    A report with no date filter (the quality API's default: every
    province, all time) reads one row per key and year here.
    """

    __tablename__ = "report_quality_years"
    __table_args__ = (
        Index("ix_report_quality_years_empty", "shipments", postgresql_where=text("shipments = 0"),
              sqlite_where=text("shipments = 0")),
    )

    year: Mapped[date] = mapped_column(Date, primary_key=True)  # the year's first day
    program_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    carrier: Mapped[str] = mapped_column(String(16), primary_key=True)
    province_code: Mapped[str] = mapped_column(String(6), primary_key=True)


class ReportQualityDelta(_QualityMeasures, db.Model):
    """A signed change to the quality rollups, appended by the shipments triggers, folded every minute."""

    __tablename__ = "report_quality_deltas"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    program_id: Mapped[int] = mapped_column(Integer)
    carrier: Mapped[str] = mapped_column(String(16))
    province_code: Mapped[str] = mapped_column(String(6))
    hours: Mapped[int] = mapped_column(Integer)
    pickup_day: Mapped[date] = mapped_column(Date)


class ReportNetworkDay(_Measures, db.Model):
    """Shipments per Beijing day × county × township × local station × direction (folded from report_deltas).

    The network report (coverage, silent stations, in/out per township)
    reads a few hundred rows a day here instead of the full-grain rollup.
    """

    __tablename__ = "report_network_days"
    __table_args__ = (
        Index("ix_report_network_days_empty", "shipments", postgresql_where=text("shipments = 0"),
              sqlite_where=text("shipments = 0")),
    )

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    county_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    township_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    station_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    direction: Mapped[str] = mapped_column(String(16), primary_key=True)


# --- Program progress (migration 0013_perfrep) ------------------------------------
# "Done" (完成) on the dashboard counts the pieces of parcels the carrier has
# actually taken: every status except these (services/reports/common.py, taken_expr).
NOT_TAKEN_STATUSES = ("pending", "info_received", "cancelled", "returning", "returned")


class ReportProgressDay(_Measures, db.Model):
    """Shipments per program × Beijing day × county × township × taken by the carrier (folded from report_deltas).

    Program progress, the county map and the drill-down behind 完成 read
    this and report_progress_months: whole months from the month table,
    the days at a period's edges from here.
    """

    __tablename__ = "report_progress_days"
    __table_args__ = (
        Index("ix_report_progress_days_empty", "shipments", postgresql_where=text("shipments = 0"),
              sqlite_where=text("shipments = 0")),
    )

    program_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0: no program
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    county_code: Mapped[str] = mapped_column(String(12), primary_key=True)  # '': unknown
    township_code: Mapped[str] = mapped_column(String(12), primary_key=True)  # '': unknown
    taken: Mapped[bool] = mapped_column(Boolean, primary_key=True)  # status not in NOT_TAKEN_STATUSES


class ReportProgressMonth(_Measures, db.Model):
    """The same per Beijing month (the month's first day): a season of a program is a few thousand rows."""

    __tablename__ = "report_progress_months"
    __table_args__ = (
        Index("ix_report_progress_months_empty", "shipments", postgresql_where=text("shipments = 0"),
              sqlite_where=text("shipments = 0")),
    )

    program_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    county_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    township_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    taken: Mapped[bool] = mapped_column(Boolean, primary_key=True)


class ReportNetworkMonth(_Measures, db.Model):
    """report_network_days per Beijing month (migration 0013_perfrep_network): network figures over long
    periods read whole months here and the days at the edges from report_network_days."""

    __tablename__ = "report_network_months"
    __table_args__ = (
        Index("ix_report_network_months_empty", "shipments", postgresql_where=text("shipments = 0"),
              sqlite_where=text("shipments = 0")),
    )

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    county_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    township_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    station_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    direction: Mapped[str] = mapped_column(String(16), primary_key=True)
