"""Reports for officials: volumes, program progress, delivery quality, network.

Definitions (pinned by tests/test_reports_definitions.py):

- Periods are Beijing (Asia/Shanghai) calendar days of registration; weeks
  start on Monday; seasons are the meteorological ones (spring Mar–May,
  summer Jun–Aug, autumn Sep–Nov, winter Dec–Feb, named by the month they
  start: the winter from December 2025 is the bucket 2025-12-01).
- A shipment's place is its origin division, else the division of its local
  station (the destination station for 进村 inbound parcels, the origin
  station otherwise). County = the first six digits of that GB/T 2260 code;
  township = the nine-digit code when it is a township.
- Volume counts every registered shipment whatever its status, except
  cancelled registrations (the rollup triggers skip them the same way).

Volumes come from the rollup tables (models/reports.py) plus the deltas not
yet folded, so they are exact at any moment; `*_raw` functions recount the
same figures from the shipments rows (reconcile, tests and bench compare).
"""
import math
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger, Date, DateTime, Float, Integer, Interval, Select, and_, case, cast, delete, extract, func,
    literal_column, or_, select, text, type_coerce, union_all,
)
from sqlalchemy.orm import Session, aliased

from shipments.models import (
    Division, Program, Province, ReportDay, ReportDelta, ReportProgramDay, ReportProgramDim, ReportProgramMonth,
    Shipment, Station,
)
from shipments.models.enums import Direction, DivisionLevel, ShipmentStatus, StationLevel
from shipments.models.reports import DIMENSIONS, FINE_DIMENSIONS
from shipments.models.shipments import TrackingEvent

BEIJING = ZoneInfo("Asia/Shanghai")
PERIODS = ("day", "week", "month", "season")
# grouping name -> rollup column
GROUPINGS = {
    "program": "program_id", "county": "county_code", "township": "township_code", "station": "station_id",
    "carrier": "carrier", "status": "status", "direction": "direction", "channel": "channel",
    "province": "province_code",
}
COARSE_GROUPINGS = frozenset({"program", "county"})
SHORTFALL_RATIO = Decimal("0.6")
SILENT_DAYS = 14
PICKUP_HOURS = 24
FOLD_LOCK_KEY = 6_042_004  # pg advisory lock serialising refresh_rollups


class ReportError(ValueError):
    """A report request that cannot be answered (names the field)."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class ReportFilters:
    """The shipment-list filters, applied to every report (dates are Beijing days, inclusive)."""

    date_from: date | None = None
    date_to: date | None = None
    program_id: int | None = None
    county: str | None = None
    township: str | None = None
    station_id: int | None = None
    carrier: str | None = None
    status: str | None = None
    direction: str | None = None
    channel: str | None = None
    province: str | None = None
    organisation_id: int | None = None  # set for members: their own organisation only

    @property
    def needs_fine_grain(self) -> bool:
        return any(getattr(self, name) is not None for name in (
            "township", "station_id", "carrier", "status", "direction", "channel", "province", "organisation_id"))


# Filter name -> rollup column
_FILTER_COLUMNS = {
    "program_id": "program_id", "county": "county_code", "township": "township_code", "station_id": "station_id",
    "carrier": "carrier", "status": "status", "direction": "direction", "channel": "channel",
    "province": "province_code", "organisation_id": "organisation_id",
}


@dataclass
class VolumeRow:
    period: date
    keys: tuple
    shipments: int
    pieces: int
    value: Decimal
    labels: tuple = ()


@dataclass
class VolumeReport:
    period: str
    group_by: tuple[str, ...]
    filters: ReportFilters
    rows: list[VolumeRow]

    @property
    def totals(self) -> dict:
        return {"shipments": sum(r.shipments for r in self.rows), "pieces": sum(r.pieces for r in self.rows),
                "value": sum((r.value for r in self.rows), Decimal("0.00"))}


# --- Time -------------------------------------------------------------------

def beijing_today(now: datetime | None = None) -> date:
    """Today's date in Beijing."""
    return (now or datetime.now(BEIJING)).astimezone(BEIJING).date()


def day_start(day: date) -> datetime:
    """The instant a Beijing day starts, as an aware datetime."""
    return datetime.combine(day, time(0), tzinfo=BEIJING)


def period_start(day: date, period: str) -> date:
    """The first day of the period (day/week/month/season) holding `day`."""
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    if period == "season":
        month = 12 if day.month in (12, 1, 2) else (day.month // 3) * 3
        year = day.year - 1 if day.month in (1, 2) else day.year
        return date(year, month, 1)
    raise ReportError("period", f"must be one of {', '.join(PERIODS)}")


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _period_expr(pg: bool, day, period: str):
    """SQL for the first day of the period holding the date expression `day`."""
    if period == "day":
        return day
    if pg:
        if period == "season":
            month = literal_column("interval '1 month'", Interval)
            return cast(func.date_trunc("quarter", day + month) - month, Date)
        return cast(func.date_trunc(period, day), Date)
    if period == "week":
        expr = func.date(day, "weekday 0", "-6 days")
    elif period == "month":
        expr = func.date(day, "start of month")
    else:
        # SQLite has no quarters: shift a month, take the quarter's first month, shift back.
        shifted = func.date(day, "start of month", "+1 month")
        first_month = (cast(func.strftime("%m", shifted), Integer) - 1) // 3 * 3 + 1
        expr = func.date(func.strftime("%Y", shifted) + "-" + func.printf("%02d", first_month) + "-01", "-1 month")
    return type_coerce(expr, Date)


# --- Raw-row report keys (the same rules as the migration's triggers) -------

def _raw_keys(pg: bool):
    """Labelled SQL expressions for a shipment's report key, and the station alias to outer-join."""
    st = aliased(Station, name="st")
    local_station = case((Shipment.direction == Direction.INBOUND, Shipment.destination_station_id),
                         else_=Shipment.origin_station_id)
    division = func.coalesce(Shipment.origin_division_code, st.division_code)
    if pg:
        day = cast(func.timezone("Asia/Shanghai", Shipment.registered_at), Date)
        fen = cast(func.coalesce(func.round(Shipment.declared_value * 100), 0), BigInteger)
    else:
        day = type_coerce(func.date(Shipment.registered_at, "+8 hours"), Date)
        fen = cast(func.coalesce(func.round(Shipment.declared_value * 100), 0), Integer)
    keys = {
        "day": day,
        "program_id": func.coalesce(Shipment.program_id, 0),
        "organisation_id": Shipment.organisation_id,
        "county_code": func.coalesce(func.substr(division, 1, 6), ""),
        "township_code": case((func.length(division) == 9, division), else_=""),
        "station_id": func.coalesce(st.id, 0),
        "carrier": Shipment.carrier,
        "status": type_coerce(Shipment.status, Shipment.carrier.type),
        "direction": type_coerce(Shipment.direction, Shipment.carrier.type),
        "channel": type_coerce(Shipment.channel, Shipment.carrier.type),
        "province_code": func.coalesce(Shipment.destination_province_code, ""),
    }
    return keys, fen, st, st.id == local_station


# The rows volumes count (the triggers' condition in migration 0006_trust).
COUNTED = Shipment.status != ShipmentStatus.CANCELLED


def _raw_where(keys: dict, filters: ReportFilters) -> list:
    """Conditions on raw rows; indexed columns are used directly where they can be."""
    conds = [COUNTED]
    if filters.date_from is not None:
        conds.append(Shipment.registered_at >= day_start(filters.date_from))
    if filters.date_to is not None:
        conds.append(Shipment.registered_at < day_start(filters.date_to + timedelta(days=1)))
    direct = {"program_id": Shipment.program_id, "carrier": Shipment.carrier, "status": Shipment.status,
              "direction": Shipment.direction, "channel": Shipment.channel,
              "organisation_id": Shipment.organisation_id, "province": Shipment.destination_province_code}
    for name, column in _FILTER_COLUMNS.items():
        value = getattr(filters, name)
        if value is None:
            continue
        conds.append(direct[name] == value if name in direct else keys[column] == value)
    return conds


def _raw_select(session: Session, columns: list, filters: ReportFilters):
    pg = _is_pg(session)
    keys, fen, st, on = _raw_keys(pg)
    stmt = select(*columns(keys, fen)).select_from(Shipment).outerjoin(st, on)
    return stmt.where(*_raw_where(keys, filters))


# --- Volumes ----------------------------------------------------------------

def _check(period: str, group_by) -> tuple[str, ...]:
    if period not in PERIODS:
        raise ReportError("period", f"must be one of {', '.join(PERIODS)}")
    group_by = tuple(g for g in (group_by or ()) if g)
    unknown = [g for g in group_by if g not in GROUPINGS]
    if unknown:
        raise ReportError("group_by", f"unknown grouping {unknown[0]!r}; use {', '.join(GROUPINGS)}")
    if len(set(group_by)) != len(group_by) or len(group_by) > 2:
        raise ReportError("group_by", "at most two different groupings")
    return group_by


# Grain -> rollup table; any name in DIMENSIONS is also a grain: report_program_dims for that dimension.
GRAINS = {"fine": ReportDay, "day": ReportProgramDay, "month": ReportProgramMonth}


def _grain(period: str, group_by: tuple[str, ...], filters: ReportFilters) -> str:
    """The coarsest rollup that answers the request exactly."""
    columns = ({GROUPINGS[g] for g in group_by if g not in COARSE_GROUPINGS}
               | {column for name, column in _FILTER_COLUMNS.items()
                  if name not in ("program_id", "county") and getattr(filters, name) is not None})
    if columns:
        return columns.pop() if len(columns) == 1 and columns <= set(DIMENSIONS) else "fine"
    month_aligned = ((filters.date_from is None or filters.date_from.day == 1)
                     and (filters.date_to is None or (filters.date_to + timedelta(days=1)).day == 1))
    return "month" if period in ("month", "season") and month_aligned else "day"


def _rollup_union(pg: bool, filters: ReportFilters, columns: tuple[str, ...], grain: str):
    """Rollup rows plus not-yet-folded deltas, filtered, as one subquery (the date column is labelled day)."""
    parts = []
    for model in (GRAINS.get(grain, ReportProgramDim), ReportDelta):
        day = model.month if model is ReportProgramMonth else model.day

        def column(name):
            return model.value if model is ReportProgramDim and name == grain else getattr(model, name)

        conds = [model.dimension == grain] if model is ReportProgramDim else []
        if filters.date_from is not None:
            conds.append(day >= filters.date_from)
        if filters.date_to is not None:
            conds.append(day <= filters.date_to)
        for name, column_name in _FILTER_COLUMNS.items():
            if getattr(filters, name) is not None:
                conds.append(column(column_name) == getattr(filters, name))
        if grain == "month" and model is ReportDelta:
            day = _period_expr(pg, day, "month")
        cols = [day.label("day")] + [column(c).label(c) for c in columns if c != "day"]
        parts.append(select(*cols, model.shipments, model.pieces, model.value_fen).where(*conds))
    return union_all(*parts).subquery("u")


def volume_report(session: Session, period: str = "day", group_by=(), filters: ReportFilters | None = None
                  ) -> VolumeReport:
    """Shipments, pieces and declared value per period and grouping, from the rollups."""
    filters = filters or ReportFilters()
    group_by = _check(period, group_by)
    return volume_report_from(session, _grain(period, group_by, filters), period, group_by, filters)


def volume_report_from(session: Session, grain: str, period: str, group_by: tuple[str, ...], filters: ReportFilters
                       ) -> VolumeReport:
    """volume_report from a given rollup grain (the bench compares grains; the router picks the coarsest)."""
    pg = _is_pg(session)
    columns = ("day",) + tuple(dict.fromkeys(GROUPINGS[g] for g in group_by))
    u = _rollup_union(pg, filters, columns, grain)
    period_col = _period_expr(pg, u.c.day, period).label("period")
    group_cols = [u.c[GROUPINGS[g]] for g in group_by]
    stmt = (select(period_col, *group_cols, func.sum(u.c.shipments), func.sum(u.c.pieces), func.sum(u.c.value_fen))
            .group_by(period_col, *group_cols)
            .having(func.sum(u.c.shipments) != 0)
            .order_by(period_col, *group_cols))
    return VolumeReport(period, group_by, filters, _volume_rows(session.execute(stmt)))


def volume_report_raw(session: Session, period: str = "day", group_by=(), filters: ReportFilters | None = None
                      ) -> VolumeReport:
    """The same report as volume_report, recounted by a GROUP BY over the shipments rows."""
    filters = filters or ReportFilters()
    group_by = _check(period, group_by)
    pg = _is_pg(session)
    keys, fen, st, on = _raw_keys(pg)
    period_col = _period_expr(pg, keys["day"], period).label("period")
    group_cols = [keys[GROUPINGS[g]].label(GROUPINGS[g]) for g in group_by]
    stmt = (select(period_col, *group_cols, func.count(), func.sum(Shipment.pieces), func.sum(fen))
            .select_from(Shipment).outerjoin(st, on).where(*_raw_where(keys, filters))
            .group_by(period_col, *group_cols).order_by(period_col, *group_cols))
    return VolumeReport(period, group_by, filters, _volume_rows(session.execute(stmt)))


def _volume_rows(result) -> list[VolumeRow]:
    rows = []
    for row in result:
        period, *keys, shipments, pieces, fen = row
        rows.append(VolumeRow(_as_date(period), tuple(keys), int(shipments), int(pieces or 0), _yuan(fen)))
    return rows


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


def _yuan(fen) -> Decimal:
    return (Decimal(int(fen or 0)) / 100).quantize(Decimal("0.01"))


# --- Rollup maintenance -----------------------------------------------------

_MEASURE_SQL = "shipments, pieces, value_fen"


def _fold_sql(table: str, keys: tuple[str, ...], source: str, exprs: tuple[str, ...] | None = None) -> str:
    key_list = ", ".join(keys)
    expr_list = ", ".join(exprs or keys)
    return (f"INSERT INTO {table} ({key_list}, {_MEASURE_SQL}) "
            f"SELECT {expr_list}, sum(shipments), sum(pieces), sum(value_fen) FROM {source} "
            f"WHERE 1 = 1 GROUP BY {expr_list} "
            f"ON CONFLICT ({key_list}) DO UPDATE SET shipments = {table}.shipments + excluded.shipments, "
            f"pieces = {table}.pieces + excluded.pieces, value_fen = {table}.value_fen + excluded.value_fen")


_COARSE_KEYS = ("program_id", "day", "county_code")
_MONTH_KEYS = ("program_id", "month", "county_code")


def _month_fold_exprs(pg: bool) -> tuple[str, ...]:
    month = "CAST(date_trunc('month', day) AS date)" if pg else "date(day, 'start of month')"
    return ("program_id", month, "county_code")


_DIM_KEYS = ("dimension", "program_id", "day", "county_code", "value")


def _dims_source(source: str) -> str:
    """The rows of `source` projected once per dimension of report_program_dims."""
    return "(" + " UNION ALL ".join(
        f"SELECT '{d}' AS dimension, program_id, day, county_code, {d} AS value, {_MEASURE_SQL} FROM {source}"
        for d in DIMENSIONS) + ") d"


def refresh_rollups(session: Session) -> int:
    """Fold the deltas the shipments triggers appended into the rollups; return how many were folded.

    Readers already add unfolded deltas, so this only keeps the delta table
    short; it is the scheduler's every-minute job (the caller commits).
    """
    # Raw SQL: data-modifying CTEs and ON CONFLICT upserts across dialects.
    if _is_pg(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FOLD_LOCK_KEY})
        columns = ", ".join(FINE_DIMENSIONS) + ", " + _MEASURE_SQL
        # One statement, one snapshot: exactly the deltas deleted are added,
        # even while other transactions append and commit new ones.
        result = session.execute(text(
            f"WITH moved AS (DELETE FROM report_deltas RETURNING {columns}), "
            f"fine AS ({_fold_sql('report_days', FINE_DIMENSIONS, 'moved')}), "
            f"coarse AS ({_fold_sql('report_program_days', _COARSE_KEYS, 'moved')}), "
            f"months AS ({_fold_sql('report_program_months', _MONTH_KEYS, 'moved', _month_fold_exprs(True))}), "
            f"dims AS ({_fold_sql('report_program_dims', _DIM_KEYS, _dims_source('moved'))}) "
            f"SELECT count(*) FROM moved"))
        folded = result.scalar_one()
    else:
        # SQLite has one writer at a time: after the first INSERT takes the
        # write lock no delta can arrive before the DELETE.
        session.execute(text(_fold_sql("report_days", FINE_DIMENSIONS, "report_deltas")))
        session.execute(text(_fold_sql("report_program_days", _COARSE_KEYS, "report_deltas")))
        session.execute(text(_fold_sql("report_program_months", _MONTH_KEYS, "report_deltas",
                                       _month_fold_exprs(False))))
        session.execute(text(_fold_sql("report_program_dims", _DIM_KEYS, _dims_source("report_deltas"))))
        folded = session.execute(delete(ReportDelta)).rowcount
    session.execute(delete(ReportDay).where(ReportDay.shipments == 0))
    session.execute(delete(ReportProgramDay).where(ReportProgramDay.shipments == 0))
    session.execute(delete(ReportProgramMonth).where(ReportProgramMonth.shipments == 0))
    session.execute(delete(ReportProgramDim).where(ReportProgramDim.shipments == 0))
    return folded


def rebuild_rollups(session: Session) -> int:
    """Recount the rollups from the shipments rows (after bulk loads with triggers off); return fine buckets."""
    if _is_pg(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FOLD_LOCK_KEY})
    for model in (ReportDelta, ReportDay, ReportProgramDay, ReportProgramMonth, ReportProgramDim):
        session.execute(delete(model))
    pg = _is_pg(session)
    keys, fen, st, on = _raw_keys(pg)
    fine = (select(*(keys[c] for c in FINE_DIMENSIONS), func.count(), func.sum(Shipment.pieces), func.sum(fen))
            .select_from(Shipment).outerjoin(st, on).where(COUNTED).group_by(*(keys[c] for c in FINE_DIMENSIONS)))
    session.execute(ReportDay.__table__.insert().from_select(list(FINE_DIMENSIONS) + ["shipments", "pieces", "value_fen"], fine))
    coarse = (select(ReportDay.program_id, ReportDay.day, ReportDay.county_code, func.sum(ReportDay.shipments),
                     func.sum(ReportDay.pieces), func.sum(ReportDay.value_fen))
              .group_by(ReportDay.program_id, ReportDay.day, ReportDay.county_code))
    session.execute(ReportProgramDay.__table__.insert().from_select(
        list(_COARSE_KEYS) + ["shipments", "pieces", "value_fen"], coarse))
    month = _period_expr(pg, ReportProgramDay.day, "month")
    months = (select(ReportProgramDay.program_id, month, ReportProgramDay.county_code,
                     func.sum(ReportProgramDay.shipments), func.sum(ReportProgramDay.pieces),
                     func.sum(ReportProgramDay.value_fen))
              .group_by(ReportProgramDay.program_id, month, ReportProgramDay.county_code))
    session.execute(ReportProgramMonth.__table__.insert().from_select(
        list(_MONTH_KEYS) + ["shipments", "pieces", "value_fen"], months))
    for dimension in DIMENSIONS:
        value = getattr(ReportDay, dimension)
        dims = (select(literal_column(f"'{dimension}'"), ReportDay.program_id, ReportDay.day, ReportDay.county_code,
                       value, func.sum(ReportDay.shipments), func.sum(ReportDay.pieces), func.sum(ReportDay.value_fen))
                .group_by(ReportDay.program_id, ReportDay.day, ReportDay.county_code, value))
        session.execute(ReportProgramDim.__table__.insert().from_select(
            list(_DIM_KEYS) + ["shipments", "pieces", "value_fen"], dims))
    return session.scalar(select(func.count()).select_from(ReportDay))


@dataclass
class Difference:
    table: str
    key: tuple
    rollup: tuple[int, int, int]
    raw: tuple[int, int, int]


def reconcile(session: Session) -> list[Difference]:
    """Recount every rollup bucket from raw rows; return the buckets that differ."""
    pg = _is_pg(session)
    keys, fen, st, on = _raw_keys(pg)
    differences = []
    raw_keys = dict(keys, month=_period_expr(pg, keys["day"], "month"))
    checks = [("report_days", FINE_DIMENSIONS, "fine"), ("report_program_days", _COARSE_KEYS, "day"),
              ("report_program_months", _MONTH_KEYS, "month")]
    checks += [("report_program_dims", ("program_id", "day", "county_code", d), d) for d in DIMENSIONS]
    for name, key_names, grain in checks:
        columns = tuple("day" if k == "month" else k for k in key_names)
        u = _rollup_union(pg, ReportFilters(), columns, grain)
        rollup_stmt = (select(*(u.c[k] for k in columns), func.sum(u.c.shipments), func.sum(u.c.pieces),
                              func.sum(u.c.value_fen)).group_by(*(u.c[k] for k in columns)))
        raw_cols = [raw_keys[k] for k in key_names]
        raw_stmt = (select(*raw_cols, func.count(), func.sum(Shipment.pieces), func.sum(fen))
                    .select_from(Shipment).outerjoin(st, on).where(COUNTED).group_by(*raw_cols))
        rollup = _keyed(session.execute(rollup_stmt))
        raw = _keyed(session.execute(raw_stmt))
        prefix = (grain,) if name == "report_program_dims" else ()
        for key in sorted(set(rollup) | set(raw), key=str):
            got, want = rollup.get(key, (0, 0, 0)), raw.get(key, (0, 0, 0))
            if got != want:
                differences.append(Difference(name, prefix + key, got, want))
    return differences


def _keyed(result) -> dict:
    out = {}
    for row in result:
        *key, shipments, pieces, fen = row
        key = tuple(_as_date(k) if isinstance(k, (datetime, date)) else k for k in key)
        value = (int(shipments), int(pieces or 0), int(fen or 0))
        if value != (0, 0, 0):
            out[tuple(key)] = value
    return out


# --- Program progress -------------------------------------------------------

@dataclass
class Shortfall:
    code: str
    name: str
    pieces: int
    prorated_target: int | None
    percent: Decimal | None
    flagged: bool


@dataclass
class Progress:
    program: Program
    as_of: date
    season_start: date
    season_end: date
    elapsed_days: int
    season_days: int
    target: int
    prorated_target: int
    pieces: int
    shipments: int
    percent_of_prorated: Decimal | None
    projected_pieces: int | None
    projected_percent: Decimal | None
    tier: str | None
    counties: list[Shortfall] = field(default_factory=list)
    townships: list[Shortfall] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return self.percent_of_prorated is not None and self.percent_of_prorated < SHORTFALL_RATIO * 100


def season_window(program: Program) -> tuple[date, date]:
    """First and last Beijing day of a program's season in its year (start > end wraps into the next year)."""
    start = date(program.year, program.season_start_month, 1)
    end_year = program.year + (1 if program.season_end_month < program.season_start_month else 0)
    end_month_first = date(end_year, program.season_end_month, 1)
    end = (end_month_first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return start, end


def prorate(target: int, elapsed_days: int, season_days: int) -> int:
    """The target prorated over the elapsed days of the season, in whole pieces (half up)."""
    return int((Decimal(target) * elapsed_days / season_days).quantize(Decimal(1), ROUND_HALF_UP))


def _percent(part, whole) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def program_progress(session: Session, program: Program, as_of: date | None = None) -> Progress:
    """Pieces to date against the season-prorated target, the projected pace, and shortfalls."""
    as_of = as_of or beijing_today()
    start, end = season_window(program)
    season_days = (end - start).days + 1
    elapsed = min(max((as_of - start).days + 1, 0), season_days)
    prorated = prorate(program.target_pieces, elapsed, season_days)
    window = ReportFilters(date_from=start, date_to=min(as_of, end), program_id=program.id)
    if elapsed == 0:
        by_county, by_township = [], []
    else:
        by_county = volume_report(session, "season", ("county",), window).rows
        by_township = volume_report(session, "season", ("township",), window).rows
    pieces = sum(r.pieces for r in by_county)
    shipments = sum(r.shipments for r in by_county)
    projected = round(pieces * season_days / elapsed) if elapsed else None
    county_pieces = _sum_by_key(by_county)
    township_pieces = _sum_by_key(by_township)
    names = _division_names(session)
    # The program's target belongs to its home county; other counties that
    # ship under it are listed without a target share.
    county_codes = sorted(set(county_pieces) | {program.county_code})
    counties = [_shortfall(code, names.get(code, code or "未知"), county_pieces.get(code, 0),
                           prorated if code == program.county_code else None) for code in county_codes]
    shares = township_shares(session, program.county_code)
    township_codes = sorted(set(shares) | set(township_pieces))
    townships = [_shortfall(code, names.get(code, code or "未知乡镇"), township_pieces.get(code, 0),
                            int((prorated * shares[code]).quantize(Decimal(1), ROUND_HALF_UP))
                            if code in shares else None) for code in township_codes]
    return Progress(program, as_of, start, end, elapsed, season_days, program.target_pieces, prorated, pieces,
                    shipments, _percent(pieces, prorated), projected, _percent(projected, program.target_pieces)
                    if projected is not None else None, program.tier, counties, townships)


def _sum_by_key(rows: list[VolumeRow]) -> dict:
    out = {}
    for row in rows:
        out[row.keys[0]] = out.get(row.keys[0], 0) + row.pieces
    return out


def _shortfall(code, name, pieces, prorated) -> Shortfall:
    percent = _percent(pieces, prorated) if prorated else None
    flagged = prorated is not None and prorated > 0 and Decimal(pieces) < SHORTFALL_RATIO * prorated
    return Shortfall(code, name, pieces, prorated, percent, flagged)


def township_shares(session: Session, county_code: str) -> dict[str, Decimal]:
    """Each township's share of a county program's target: by its village stations, equal when none."""
    townships = session.scalars(select(Division.code).where(
        Division.parent_code == county_code, Division.level == DivisionLevel.TOWNSHIP)).all()
    if not townships:
        return {}
    counts = dict(session.execute(
        select(Station.division_code, func.count()).where(
            Station.level == StationLevel.VILLAGE, Station.division_code.in_(townships))
        .group_by(Station.division_code)).all())
    total = sum(counts.values())
    if total == 0:
        return {code: Decimal(1) / len(townships) for code in townships}
    return {code: Decimal(counts.get(code, 0)) / total for code in townships}


def county_progress(session: Session, year: int, as_of: date | None = None,
                    progress_list: list[Progress] | None = None) -> dict[str, dict]:
    """Per home county, pieces to date against the prorated targets of its programs in `year` (the map)."""
    if progress_list is None:
        programs = session.scalars(select(Program).where(Program.year == year).order_by(Program.id))
        progress_list = [program_progress(session, program, as_of) for program in programs]
    out: dict[str, dict] = {}
    for progress in progress_list:
        program = progress.program
        entry = out.setdefault(program.county_code, {"pieces": 0, "prorated_target": 0, "programs": 0})
        entry["pieces"] += progress.pieces
        entry["prorated_target"] += progress.prorated_target
        entry["programs"] += 1
    for entry in out.values():
        entry["percent"] = _percent(entry["pieces"], entry["prorated_target"])
    return out


# --- Delivery quality -------------------------------------------------------

@dataclass
class QualityRow:
    program_id: int | None
    carrier: str
    province_code: str | None
    shipments: int
    picked_within_24h: int
    no_pickup: int
    next_day_on_time: int
    next_day_late: int
    next_day_pending: int
    exceptions: int
    returns: int
    transit_p50_hours: float | None
    transit_p90_hours: float | None
    labels: tuple = ()

    @property
    def pickup_rate(self) -> Decimal | None:
        return _percent(self.picked_within_24h, self.shipments)

    @property
    def next_day_rate(self) -> Decimal | None:
        return _percent(self.next_day_on_time, self.next_day_on_time + self.next_day_late)

    @property
    def exception_rate(self) -> Decimal | None:
        return _percent(self.exceptions, self.shipments)

    @property
    def return_rate(self) -> Decimal | None:
        return _percent(self.returns, self.shipments)


def _hours(pg: bool, start, end):
    if pg:
        return extract("epoch", end - start) / 3600.0
    return (func.julianday(end) - func.julianday(start)) * 24.0


def _arrival():
    """When the parcel was delivered or first reached a station/locker (the 次日递 endpoint)."""
    first_station = (select(func.min(TrackingEvent.occurred_at))
                     .where(TrackingEvent.shipment_id == Shipment.id,
                            TrackingEvent.status.in_([ShipmentStatus.AVAILABLE_FOR_PICKUP, ShipmentStatus.DELIVERED]))
                     .correlate(Shipment).scalar_subquery())
    return first_station


def _next_day_deadline(pg: bool, picked_up_at):
    """The end of the Beijing day after the pickup day (the pickup day itself is excluded)."""
    if pg:
        pickup_day = cast(func.timezone("Asia/Shanghai", picked_up_at), Date)
        local_midnight = cast(pickup_day + literal_column("2", Integer), DateTime())
        return func.timezone("Asia/Shanghai", local_midnight, type_=DateTime(timezone=True))
    return func.datetime(func.date(picked_up_at, "+8 hours", "+2 days"), "-8 hours")


def quality_report(session: Session, filters: ReportFilters | None = None, now: datetime | None = None,
                   by_province: bool = True) -> list[QualityRow]:
    """Delivery quality per program × carrier (× destination province), over shipments registered in the filters."""
    filters = filters or ReportFilters()
    now = now or datetime.now(BEIJING)
    pg = _is_pg(session)
    keys, fen, st, on = _raw_keys(pg)
    base = (select(Shipment.program_id, Shipment.carrier, Shipment.destination_province_code.label("province"),
                   Shipment.registered_at, Shipment.picked_up_at, Shipment.delivered_at,
                   type_coerce(Shipment.status, Shipment.carrier.type).label("status"),
                   _arrival().label("first_station_at"))
            .select_from(Shipment).outerjoin(st, on).where(*_raw_where(keys, filters)).subquery("q"))
    q = base.c
    arrival = case((q.delivered_at.is_(None), q.first_station_at), (q.first_station_at.is_(None), q.delivered_at),
                   (q.first_station_at < q.delivered_at, q.first_station_at), else_=q.delivered_at)
    deadline = _next_day_deadline(pg, q.picked_up_at)
    picked = q.picked_up_at.is_not(None)
    if pg:
        arrived_in_time = arrival < deadline
        deadline_passed = deadline <= now
    else:
        arrived_in_time = func.julianday(arrival) < func.julianday(deadline)
        deadline_passed = func.julianday(deadline) <= func.julianday(_sqlite_instant(now))
    pickup_in_time = _hours(pg, q.registered_at, q.picked_up_at) <= PICKUP_HOURS

    def count_if(cond):
        return func.sum(case((cond, 1), else_=0))

    transit = _hours(pg, q.picked_up_at, q.delivered_at)
    delivered_transit = and_(picked, q.delivered_at.is_not(None))
    group = (q.program_id, q.carrier, q.province if by_province else literal_column("NULL").label("province"))
    measures = [
        func.count(),
        count_if(and_(picked, pickup_in_time)),
        count_if(~picked),
        count_if(and_(picked, arrival.is_not(None), arrived_in_time)),
        count_if(and_(picked, or_(and_(arrival.is_not(None), ~arrived_in_time),
                                  and_(arrival.is_(None), deadline_passed)))),
        count_if(and_(picked, arrival.is_(None), ~deadline_passed)),
        count_if(q.status == ShipmentStatus.EXCEPTION.value),
        count_if(q.status.in_([ShipmentStatus.RETURNING.value, ShipmentStatus.RETURNED.value])),
    ]
    if pg:
        measures += [func.percentile_cont(0.5).within_group(transit).filter(delivered_transit),
                     func.percentile_cont(0.9).within_group(transit).filter(delivered_transit)]
    stmt = select(*group, *measures).group_by(*group[:3 if by_province else 2]).order_by(*group[:3 if by_province else 2])
    rows = []
    for row in session.execute(stmt):
        program_id, carrier, province, *counts = row
        p50 = p90 = None
        if pg:
            *counts, p50, p90 = counts
        rows.append(QualityRow(program_id, carrier, province, *(int(c or 0) for c in counts),
                               _round_hours(p50), _round_hours(p90)))
    if not pg:
        # SQLite has no percentile aggregate: the same continuous percentile in Python.
        durations: dict[tuple, list[float]] = {}
        for program_id, carrier, province, hours in session.execute(select(*group, transit).where(delivered_transit)):
            durations.setdefault((program_id, carrier, province), []).append(float(hours))
        for row in rows:
            values = sorted(durations.get((row.program_id, row.carrier, row.province_code), []))
            row.transit_p50_hours = _round_hours(percentile_cont(values, 0.5))
            row.transit_p90_hours = _round_hours(percentile_cont(values, 0.9))
    return rows


def _sqlite_instant(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M:%S.%f")


def percentile_cont(sorted_values: list[float], fraction: float) -> float | None:
    """PostgreSQL's percentile_cont: linear interpolation between the closest ranks."""
    if not sorted_values:
        return None
    position = fraction * (len(sorted_values) - 1)
    low, high = math.floor(position), math.ceil(position)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def _round_hours(value) -> float | None:
    return None if value is None else round(float(value), 1)


def late_perishables(session: Session, filters: ReportFilters | None = None, now: datetime | None = None,
                     limit: int = 500) -> Select:
    """Select (shipment, hours taken) for perishables past their program's deadline.

    The clock starts at pickup (at registration when there was no pickup
    scan: the fruit ages either way) and stops at delivery, or now.
    """
    filters = filters or ReportFilters()
    now = now or datetime.now(BEIJING)
    pg = _is_pg(session)
    start = func.coalesce(Shipment.picked_up_at, Shipment.registered_at)
    end = func.coalesce(Shipment.delivered_at, now)
    hours = _hours(pg, start, end)
    keys, fen, st, on = _raw_keys(pg)
    return (select(Shipment, type_coerce(hours, Float).label("hours"))
            .select_from(Shipment).join(Program, Program.id == Shipment.program_id).outerjoin(st, on)
            .where(Program.perishable.is_(True), hours > Program.deadline_hours, *_raw_where(keys, filters))
            .order_by(hours.desc(), Shipment.id).limit(limit))


# --- Network ----------------------------------------------------------------

@dataclass
class NetworkReport:
    village_stations: int
    active_village_stations: int
    silent_stations: list[Station]
    townships: list[dict]
    as_of: date

    @property
    def coverage(self) -> Decimal | None:
        return _percent(self.active_village_stations, self.village_stations)


def network_report(session: Session, filters: ReportFilters | None = None) -> NetworkReport:
    """Village-station coverage in the period, stations silent for 14 days, inbound vs outbound per township.

    Coverage = village stations with at least one shipment in the period /
    all village stations (in the county filter when given). A station is
    silent when no shipment was registered through it in the 14 Beijing days
    ending on the period's last day (today when open).
    """
    filters = filters or ReportFilters()
    as_of = filters.date_to or beijing_today()
    villages = select(Station).where(Station.level == StationLevel.VILLAGE)
    if filters.county:
        villages = villages.where(func.substr(Station.division_code, 1, 6) == filters.county)
    if filters.township:
        villages = villages.where(Station.division_code == filters.township)
    stations = session.scalars(villages.order_by(Station.division_code, Station.name)).all()
    village_ids = {s.id for s in stations}
    active = {r.keys[0] for r in volume_report(session, "month", ("station",), replace(
        filters, station_id=None)).rows if r.keys[0] in village_ids}
    recent = replace(filters, date_from=as_of - timedelta(days=SILENT_DAYS - 1), date_to=as_of, station_id=None)
    recent_ids = {r.keys[0] for r in volume_report(session, "month", ("station",), recent).rows}
    silent = [s for s in stations if s.id not in recent_ids]
    by_township: dict[str, dict] = {}
    for row in volume_report(session, "season", ("township", "direction"), filters).rows:
        entry = by_township.setdefault(row.keys[0], {"code": row.keys[0], "inbound": 0, "outbound": 0,
                                                     "inbound_pieces": 0, "outbound_pieces": 0})
        entry[row.keys[1]] += row.shipments
        entry[f"{row.keys[1]}_pieces"] += row.pieces
    names = _division_names(session)
    townships = []
    for code in sorted(by_township):
        entry = by_township[code]
        entry["name"] = names.get(code, code or "未知乡镇")
        townships.append(entry)
    return NetworkReport(len(stations), len(active), silent, townships, as_of)


# --- Drill-down and labels --------------------------------------------------

def matching_shipments(session: Session, filters: ReportFilters) -> Select:
    """Select the shipments behind a report figure (same keys and filters as the reports)."""
    pg = _is_pg(session)
    keys, fen, st, on = _raw_keys(pg)
    return (select(Shipment).select_from(Shipment).outerjoin(st, on).where(*_raw_where(keys, filters))
            .order_by(Shipment.registered_at.desc(), Shipment.id.desc()))


STATUS_LABELS = {
    "pending": ("待查询", "Pending"), "info_received": ("已下单", "Info received"),
    "in_transit": ("运输中", "In transit"), "out_for_delivery": ("派件中", "Out for delivery"),
    "available_for_pickup": ("待取件", "Awaiting pickup"), "attempt_fail": ("投递失败", "Attempt failed"),
    "delivered": ("已签收", "Delivered"), "exception": ("异常", "Exception"), "returning": ("退回中", "Returning"),
    "returned": ("已退回", "Returned"), "expired": ("已过期", "Expired"),
    "cancelled": ("已取消", "Cancelled"),
}
DIRECTION_LABELS = {"outbound": ("出村", "Outbound"), "inbound": ("进村", "Inbound")}
CHANNEL_LABELS = {
    "douyin": ("抖音", "Douyin"), "kuaishou": ("快手", "Kuaishou"), "taobao": ("淘宝", "Taobao"),
    "pinduoduo": ("拼多多", "Pinduoduo"), "wechat": ("微信", "WeChat"), "offline": ("线下", "Offline"),
    "other": ("其他", "Other"),
}
UNKNOWN = ("未知", "Unknown")


def _division_names(session: Session, lang: str = "zh") -> dict[str, str]:
    column = Division.name if lang == "zh" else Division.name_en
    return dict(session.execute(select(Division.code, column)).all())


def _carrier_names(lang: str) -> dict[str, str]:
    from shipments.services.reference import read_csv

    return {row["code"]: row["name_zh" if lang == "zh" else "name_en"] for row in read_csv("carriers.csv")}


def dimension_labels(session: Session, grouping: str, keys, lang: str = "zh") -> dict:
    """Display names for the keys of one grouping."""
    zh = lang == "zh"
    keys = set(keys)
    if grouping == "program":
        rows = session.execute(select(Program.id, Program.name if zh else Program.name_en)
                               .where(Program.id.in_(keys))).all()
        names = dict(rows)
    elif grouping in ("county", "township"):
        names = _division_names(session, lang)
    elif grouping == "station":
        names = dict(session.execute(select(Station.id, Station.name).where(Station.id.in_(keys))).all())
    elif grouping == "province":
        names = dict(session.execute(select(Province.code, Province.name if zh else Province.name_en)).all())
    elif grouping == "carrier":
        names = _carrier_names(lang)
    else:
        table = {"status": STATUS_LABELS, "direction": DIRECTION_LABELS, "channel": CHANNEL_LABELS}[grouping]
        names = {k: v[0 if zh else 1] for k, v in table.items()}
    unknown = UNKNOWN[0 if zh else 1]
    return {k: names.get(k, unknown if k in ("", 0, None) else str(k)) for k in keys}


def label_report(session: Session, report: VolumeReport, lang: str = "zh") -> VolumeReport:
    """Fill each row's labels (display names of its keys)."""
    lookups = [dimension_labels(session, g, {r.keys[i] for r in report.rows}, lang)
               for i, g in enumerate(report.group_by)]
    for row in report.rows:
        row.labels = tuple(lookups[i][k] for i, k in enumerate(row.keys))
    return report


def label_quality(session: Session, rows: list[QualityRow], lang: str = "zh") -> list[QualityRow]:
    """Fill each quality row's labels (program, carrier, province)."""
    programs = dimension_labels(session, "program", {r.program_id for r in rows}, lang)
    carriers = dimension_labels(session, "carrier", {r.carrier for r in rows}, lang)
    provinces = dimension_labels(session, "province", {r.province_code or "" for r in rows}, lang)
    for row in rows:
        row.labels = (programs[row.program_id], carriers[row.carrier], provinces[row.province_code or ""])
    return rows


def filters_for(caller, values: dict) -> ReportFilters:
    """Report filters from query values; a member's figures are limited to their own organisation."""
    names = {f for f in ReportFilters.__dataclass_fields__ if f != "organisation_id"}
    filters = ReportFilters(**{k: v for k, v in values.items() if k in names and v is not None})
    if not caller.sees_everything:
        filters = replace(filters, organisation_id=caller.organisation_id)
    return filters


def dashboard_figures(session: Session, year: int, as_of: date, lang: str = "zh") -> dict:
    """Every figure of the officials' dashboard for a program year, as of a Beijing day."""
    program_list = session.scalars(select(Program).where(Program.year == year)
                                   .order_by(Program.target_pieces.desc(), Program.id)).all()
    progress = [program_progress(session, p, as_of) for p in program_list]
    year_filters = ReportFilters(date_from=date(year, 1, 1), date_to=min(as_of, date(year, 12, 31)))
    monthly = label_report(session, volume_report(session, "month", ("program",), year_filters), lang)
    months = [date(year, m, 1) for m in range(1, 13)]
    by_program: dict[int, list[int]] = {p.id: [0] * 12 for p in program_list}
    for row in monthly.rows:
        if row.keys[0] in by_program and row.period.year == year:
            by_program[row.keys[0]][row.period.month - 1] += row.pieces
    zh = lang == "zh"
    series = [{"program_id": p.id, "name": p.name if zh else p.name_en, "data": by_program[p.id]}
              for p in program_list]
    names = _division_names(session, lang)
    map_names = _division_names(session, "zh")  # the map's feature names are Chinese
    counties = county_progress(session, year, as_of, progress)
    county_map = [{"code": code, "name": map_names.get(code, code),
                   "label": names.get(code, code), "value": float(e["percent"]) if e["percent"] is not None else None,
                   "pieces": e["pieces"], "prorated_target": e["prorated_target"]} for code, e in counties.items()]
    # Figures "as of" a past day are computed at the end of that day.
    now = min(datetime.now(BEIJING), day_start(as_of + timedelta(days=1)))
    quality = label_quality(session, quality_report(session, year_filters, now, by_province=False), lang)
    late = session.execute(late_perishables(session, year_filters, now, limit=20)).all()
    network = network_report(session, replace(year_filters, date_from=max(year_filters.date_from,
                                                                          as_of - timedelta(days=29))))
    return {"year": year, "as_of": as_of, "progress": progress, "months": [m.isoformat() for m in months],
            "series": series, "county_map": county_map, "quality": quality, "late": late, "network": network,
            "year_filters": year_filters}
