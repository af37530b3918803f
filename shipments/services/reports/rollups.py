"""Rollup maintenance: fold the deltas the triggers append, rebuild from raw rows, reconcile.

Readers add the deltas not yet folded, so every figure is exact at any
moment; the fold only keeps report_deltas short.
"""
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Date, case, delete, func, literal_column, select, text, union_all
from sqlalchemy.orm import Session

from shipments.models import ReportDay, ReportDelta, ReportProgramDay, ReportProgramDim, ReportProgramMonth, Shipment
from shipments.models import ReportNetworkMonth, ReportProgressDay, ReportProgressMonth
from shipments.models import (
    ReportNetworkDay, ReportQualityCarrierMonth, ReportQualityDay, ReportQualityDelta, ReportQualityMonth,
    ReportQualityYear,
)
from shipments.models.reports import (
    DIMENSIONS, FINE_DIMENSIONS, HIST_COLUMNS, HOUR_BUCKETS, MEASURES, NOT_TAKEN_STATUSES, QUALITY_KEYS,
    QUALITY_MEASURES,
)
from shipments.services.reports.common import (
    _FILTER_COLUMNS, COUNTED, ReportFilters, _as_date, _is_pg, _period_expr, _raw_keys, beijing_today, taken_expr,
)
from shipments.services.reports.quality_keys import quality_raw_select

FOLD_LOCK_KEY = 6_042_004  # pg advisory lock serialising refresh_rollups
# Grain -> rollup table; any name in DIMENSIONS is also a grain: report_program_dims for that dimension.
GRAINS = {"fine": ReportDay, "day": ReportProgramDay, "month": ReportProgramMonth,
          "progress": ReportProgressDay, "progress_month": ReportProgressMonth}
MONTH_TABLES = (ReportProgramMonth, ReportProgressMonth)
# month, progress_month: whole months from the month table, corrected at the period's edges by
# signed day ranges of the day table (exact for any dates when grouped by month or coarser).
EDGE_DAYS = {ReportProgramMonth: ReportProgramDay, ReportProgressMonth: ReportProgressDay}


def _month_end(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def split_period(date_from: date | None, date_to: date | None, today: date
                 ) -> tuple[tuple[date | None, date | None] | None, list[tuple[int, date, date]]]:
    """The whole months to read (None: none) and signed day ranges correcting them to exactly [date_from, date_to].

    At each edge the cheaper of two is taken: the edge month whole minus the
    days outside the period, or the days inside it without the month. Days
    after `today` cost nothing (no parcel is registered in the future), so a
    period ending today reads its last month whole and subtracts nothing.
    """
    def cost(start: date, end: date) -> int:
        return max(0, (min(end, today) - start).days + 1)

    first = date_from.replace(day=1) if date_from is not None else None
    last = date_to.replace(day=1) if date_to is not None else None
    if first is not None and first == last:
        outside = [(-1, first, date_from - timedelta(days=1)), (-1, date_to + timedelta(days=1), _month_end(last))]
        outside = [r for r in outside if r[1] <= r[2]]
        if sum(cost(a, b) for _, a, b in outside) < cost(date_from, date_to):
            return (first, last), outside
        return None, [(1, date_from, date_to)]
    edges = []
    if first is not None and date_from > first:
        if cost(first, date_from - timedelta(days=1)) <= cost(date_from, _month_end(first)):
            edges.append((-1, first, date_from - timedelta(days=1)))
        else:
            edges.append((1, date_from, _month_end(first)))
            first = _month_end(first) + timedelta(days=1)
    if last is not None and date_to < _month_end(last):
        if cost(date_to + timedelta(days=1), _month_end(last)) <= cost(last, date_to):
            edges.append((-1, date_to + timedelta(days=1), _month_end(last)))
        else:
            edges.append((1, last, date_to))
            last = last - timedelta(days=1)
            last = last.replace(day=1)
    return (first, last), edges


def _rollup_union(pg: bool, filters: ReportFilters, columns: tuple[str, ...], grain: str,
                  today: date | None = None):
    """Rollup rows plus not-yet-folded deltas, filtered, as one subquery (the date column is labelled day)."""
    rollup = GRAINS.get(grain, ReportProgramDim)
    sources = [(rollup, 1, filters.date_from, filters.date_to)]
    if rollup in EDGE_DAYS:
        months, edges = split_period(filters.date_from, filters.date_to, today or beijing_today())
        sources = ([(rollup, 1, *months)] if months else []) + [(EDGE_DAYS[rollup], sign, a, b)
                                                                 for sign, a, b in edges]
    sources.append((ReportDelta, 1, filters.date_from, filters.date_to))
    parts = []
    for model, sign, date_from, date_to in sources:
        day = model.month if model in MONTH_TABLES else model.day

        def column(name):
            if model is ReportProgramDim and name == grain:
                return model.value
            if name == "taken" and model in (ReportDelta, ReportDay):
                return taken_expr(model.status)
            return getattr(model, name)

        conds = [model.dimension == grain] if model is ReportProgramDim else []
        if date_from is not None:
            conds.append(day >= date_from)
        if date_to is not None:
            conds.append(day <= date_to)
        for name, column_name in _FILTER_COLUMNS.items():
            value = getattr(filters, name)
            if value is None:
                continue
            if name == "taken":
                conds.append(column("taken") if value else ~column("taken"))
            else:
                conds.append(column(column_name) == value)
        if grain in ("month", "progress_month") and model not in MONTH_TABLES:
            day = _period_expr(pg, day, "month")
        cols = [day.label("day")] + [column(c).label(c) for c in columns if c != "day"]
        measures = [model.shipments, model.pieces, model.value_fen]
        if sign < 0:
            measures = [(-m).label(m.key) for m in measures]
        parts.append(select(*cols, *measures).where(*conds))
    return union_all(*parts).subquery("u")


_MEASURE_SQL = "shipments, pieces, value_fen"


def _fold_sql(table: str, keys: tuple[str, ...], source: str, exprs: tuple[str, ...] | None = None,
              measures: tuple[str, ...] = MEASURES) -> str:
    key_list = ", ".join(keys)
    expr_list = ", ".join(exprs or keys)
    return (f"INSERT INTO {table} ({key_list}, {', '.join(measures)}) "
            f"SELECT {expr_list}, {', '.join(f'sum({m})' for m in measures)} FROM {source} "
            f"WHERE 1 = 1 GROUP BY {expr_list} "
            f"ON CONFLICT ({key_list}) DO UPDATE SET "
            + ", ".join(f"{m} = {table}.{m} + excluded.{m}" for m in measures))


_NETWORK_KEYS = ("day", "county_code", "township_code", "station_id", "direction")
_NETWORK_MONTH_KEYS = ("month",) + _NETWORK_KEYS[1:]
# The quality month rollups: one row per key, the transit-hour histogram in columns (HIST_COLUMNS).
_QUALITY_HIST_TABLES = {"report_quality_months": ("month", "program_id", "carrier", "province_code"),
                        "report_quality_carrier_months": ("month", "program_id", "carrier"),
                        "report_quality_years": ("year", "program_id", "carrier", "province_code")}


def _truncate_sql(pg: bool, period: str, column: str = "day") -> str:
    """SQL text for the first day of the month or year holding `column`."""
    return f"CAST(date_trunc('{period}', {column}) AS date)" if pg else f"date({column}, 'start of {period}')"


def _quality_hist_fold_sql(pg: bool, table: str, source: str) -> str:
    """Upsert the quality buckets of `source` (one row per bucket) into a histogram-column month/year table."""
    keys = _QUALITY_HIST_TABLES[table]
    exprs = (_truncate_sql(pg, keys[0]),) + keys[1:]
    names = QUALITY_MEASURES + HIST_COLUMNS
    sums = [f"sum({m})" for m in QUALITY_MEASURES]
    sums += [f"sum(CASE WHEN hours = {bucket} THEN shipments ELSE 0 END)" for bucket in HOUR_BUCKETS]
    return (f"INSERT INTO {table} ({', '.join(keys + names)}) "
            f"SELECT {', '.join(exprs)}, {', '.join(sums)} FROM {source} WHERE 1 = 1 GROUP BY {', '.join(exprs)} "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
            + ", ".join(f"{n} = {table}.{n} + excluded.{n}" for n in names))


_COARSE_KEYS = ("program_id", "day", "county_code")
_MONTH_KEYS = ("program_id", "month", "county_code")


def _month_fold_exprs(pg: bool) -> tuple[str, ...]:
    month = "CAST(date_trunc('month', day) AS date)" if pg else "date(day, 'start of month')"
    return ("program_id", month, "county_code")


_DIM_KEYS = ("dimension", "program_id", "day", "county_code", "value")
_PROGRESS_KEYS = ("program_id", "day", "county_code", "township_code", "taken")
_PROGRESS_MONTH_KEYS = ("program_id", "month", "county_code", "township_code", "taken")
_TAKEN_SQL = "status NOT IN (" + ", ".join(f"'{s}'" for s in NOT_TAKEN_STATUSES) + ")"


def _progress_fold_exprs(pg: bool, month: bool) -> tuple[str, ...]:
    day = _month_fold_exprs(pg)[1] if month else "day"
    return ("program_id", day, "county_code", "township_code", _TAKEN_SQL)


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
        progress_days, progress_months = _progress_fold_exprs(True, False), _progress_fold_exprs(True, True)
        network_months = (_truncate_sql(True, "month"),) + _NETWORK_KEYS[1:]
        # One statement, one snapshot: exactly the deltas deleted are added,
        # even while other transactions append and commit new ones.
        result = session.execute(text(
            f"WITH moved AS (DELETE FROM report_deltas RETURNING {columns}), "
            f"fine AS ({_fold_sql('report_days', FINE_DIMENSIONS, 'moved')}), "
            f"coarse AS ({_fold_sql('report_program_days', _COARSE_KEYS, 'moved')}), "
            f"months AS ({_fold_sql('report_program_months', _MONTH_KEYS, 'moved', _month_fold_exprs(True))}), "
            f"dims AS ({_fold_sql('report_program_dims', _DIM_KEYS, _dims_source('moved'))}), "
            f"network AS ({_fold_sql('report_network_days', _NETWORK_KEYS, 'moved')}), "
            f"network_months AS ({_fold_sql('report_network_months', _NETWORK_MONTH_KEYS, 'moved', network_months)}), "
            f"progress AS ({_fold_sql('report_progress_days', _PROGRESS_KEYS, 'moved', progress_days)}), "
            f"progress_months AS ({_fold_sql('report_progress_months', _PROGRESS_MONTH_KEYS, 'moved', progress_months)}) "
            f"SELECT count(*) FROM moved"))
        folded = result.scalar_one()
        quality_columns = ", ".join(QUALITY_KEYS + QUALITY_MEASURES)
        folded += session.execute(text(
            f"WITH moved AS (DELETE FROM report_quality_deltas RETURNING {quality_columns}), "
            f"days AS ({_fold_sql('report_quality_days', QUALITY_KEYS, 'moved', measures=QUALITY_MEASURES)}), "
            f"months AS ({_quality_hist_fold_sql(True, 'report_quality_months', 'moved')}), "
            f"carrier_months AS ({_quality_hist_fold_sql(True, 'report_quality_carrier_months', 'moved')}), "
            f"years AS ({_quality_hist_fold_sql(True, 'report_quality_years', 'moved')}) "
            f"SELECT count(*) FROM moved")).scalar_one()
    else:
        # SQLite has one writer at a time: after the first INSERT takes the
        # write lock no delta can arrive before the DELETE.
        session.execute(text(_fold_sql("report_days", FINE_DIMENSIONS, "report_deltas")))
        session.execute(text(_fold_sql("report_program_days", _COARSE_KEYS, "report_deltas")))
        session.execute(text(_fold_sql("report_program_months", _MONTH_KEYS, "report_deltas",
                                       _month_fold_exprs(False))))
        session.execute(text(_fold_sql("report_program_dims", _DIM_KEYS, _dims_source("report_deltas"))))
        session.execute(text(_fold_sql("report_network_days", _NETWORK_KEYS, "report_deltas")))
        session.execute(text(_fold_sql("report_network_months", _NETWORK_MONTH_KEYS, "report_deltas",
                                       (_truncate_sql(False, "month"),) + _NETWORK_KEYS[1:])))
        session.execute(text(_fold_sql("report_progress_days", _PROGRESS_KEYS, "report_deltas",
                                       _progress_fold_exprs(False, False))))
        session.execute(text(_fold_sql("report_progress_months", _PROGRESS_MONTH_KEYS, "report_deltas",
                                       _progress_fold_exprs(False, True))))
        folded = session.execute(delete(ReportDelta)).rowcount
        session.execute(text(_fold_sql("report_quality_days", QUALITY_KEYS, "report_quality_deltas",
                                       measures=QUALITY_MEASURES)))
        for table in _QUALITY_HIST_TABLES:
            session.execute(text(_quality_hist_fold_sql(False, table, "report_quality_deltas")))
        folded += session.execute(delete(ReportQualityDelta)).rowcount
    session.execute(delete(ReportDay).where(ReportDay.shipments == 0))
    session.execute(delete(ReportProgramDay).where(ReportProgramDay.shipments == 0))
    session.execute(delete(ReportProgramMonth).where(ReportProgramMonth.shipments == 0))
    session.execute(delete(ReportProgramDim).where(ReportProgramDim.shipments == 0))
    for model in (ReportNetworkDay, ReportNetworkMonth, ReportQualityDay, ReportQualityMonth, ReportQualityCarrierMonth,
                  ReportQualityYear, ReportProgressDay, ReportProgressMonth):
        session.execute(delete(model).where(model.shipments == 0))
    return folded


def rebuild_rollups(session: Session) -> int:
    """Recount the rollups from the shipments rows (after bulk loads with triggers off); return fine buckets."""
    if _is_pg(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FOLD_LOCK_KEY})
    for model in (ReportDelta, ReportDay, ReportProgramDay, ReportProgramMonth, ReportProgramDim, ReportNetworkDay,
                  ReportNetworkMonth,
                  ReportQualityDelta, ReportQualityDay, ReportQualityMonth, ReportQualityCarrierMonth, ReportQualityYear,
                  ReportProgressDay, ReportProgressMonth):
        session.execute(delete(model))
    pg = _is_pg(session)
    keys, fen, st, on = _raw_keys(pg)
    fine = (select(*(keys[c] for c in FINE_DIMENSIONS), func.count(), func.sum(Shipment.pieces), func.sum(fen))
            .select_from(Shipment).outerjoin(st, on).where(COUNTED)
            .group_by(*(keys[c] for c in FINE_DIMENSIONS)))
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
    network_keys = [getattr(ReportDay, k) for k in _NETWORK_KEYS]
    session.execute(ReportNetworkDay.__table__.insert().from_select(
        list(_NETWORK_KEYS) + list(MEASURES),
        select(*network_keys, *(func.sum(getattr(ReportDay, m)) for m in MEASURES)).group_by(*network_keys)))
    network_month = [_period_expr(pg, ReportNetworkDay.day, "month")] + [getattr(ReportNetworkDay, k)
                                                                          for k in _NETWORK_KEYS[1:]]
    session.execute(ReportNetworkMonth.__table__.insert().from_select(
        list(_NETWORK_MONTH_KEYS) + list(MEASURES),
        select(*network_month, *(func.sum(getattr(ReportNetworkDay, m)) for m in MEASURES)).group_by(*network_month)))
    rebuild_progress(session)
    quality = quality_raw_select(pg)
    session.execute(ReportQualityDay.__table__.insert().from_select(list(QUALITY_KEYS + QUALITY_MEASURES), quality))
    for table in _QUALITY_HIST_TABLES:
        session.execute(text(_quality_hist_fold_sql(pg, table, "report_quality_days")))
    return session.scalar(select(func.count()).select_from(ReportDay))


@dataclass
class Difference:
    table: str
    key: tuple
    rollup: tuple[int, ...]
    raw: tuple[int, ...]


def rebuild_progress(session: Session) -> int:
    """Recount report_progress_days and _months from report_days (which holds status and township); return rows."""
    pg = _is_pg(session)
    if pg:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FOLD_LOCK_KEY})
    session.execute(delete(ReportProgressDay))
    session.execute(delete(ReportProgressMonth))
    taken = taken_expr(ReportDay.status)
    day_keys = [ReportDay.program_id, ReportDay.day, ReportDay.county_code, ReportDay.township_code, taken]
    session.execute(ReportProgressDay.__table__.insert().from_select(
        list(_PROGRESS_KEYS) + list(MEASURES),
        select(*day_keys, *(func.sum(getattr(ReportDay, m)) for m in MEASURES)).group_by(*day_keys)))
    d = ReportProgressDay
    month_keys = [d.program_id, _period_expr(pg, d.day, "month"), d.county_code, d.township_code, d.taken]
    session.execute(ReportProgressMonth.__table__.insert().from_select(
        list(_PROGRESS_MONTH_KEYS) + list(MEASURES),
        select(*month_keys, *(func.sum(getattr(d, m)) for m in MEASURES)).group_by(*month_keys)))
    return session.scalar(select(func.count()).select_from(ReportProgressDay))


def reconcile(session: Session) -> list[Difference]:
    """Recount every rollup bucket from raw rows; return the buckets that differ."""
    pg = _is_pg(session)
    keys, fen, st, on = _raw_keys(pg)
    differences = []
    raw_keys = dict(keys, month=_period_expr(pg, keys["day"], "month"))
    checks = [("report_days", FINE_DIMENSIONS, "fine"), ("report_program_days", _COARSE_KEYS, "day"),
              ("report_program_months", _MONTH_KEYS, "month"),
              ("report_progress_days", _PROGRESS_KEYS, "progress"),
              ("report_progress_months", _PROGRESS_MONTH_KEYS, "progress_month")]
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
        differences += _compare(name, rollup, raw, prefix)
    # Network: report_network_days plus the unfolded volume deltas, against the raw rows.
    net = [getattr(ReportNetworkDay, k) for k in _NETWORK_KEYS]
    delta = [getattr(ReportDelta, k) for k in _NETWORK_KEYS]
    u = union_all(select(*net, *(getattr(ReportNetworkDay, m) for m in MEASURES)),
                  select(*delta, *(getattr(ReportDelta, m) for m in MEASURES))).subquery("u")
    group = [u.c[k] for k in _NETWORK_KEYS]
    rollup = _keyed(session.execute(select(*group, *(func.sum(u.c[m]) for m in MEASURES)).group_by(*group)))
    raw_cols = [raw_keys[k] for k in _NETWORK_KEYS]
    raw = _keyed(session.execute(select(*raw_cols, func.count(), func.sum(Shipment.pieces), func.sum(fen))
                                 .select_from(Shipment).outerjoin(st, on).where(COUNTED).group_by(*raw_cols)))
    differences += _compare("report_network_days", rollup, raw)
    month = _period_expr(pg, ReportDelta.day, "month")
    u = union_all(select(*(getattr(ReportNetworkMonth, k) for k in _NETWORK_MONTH_KEYS),
                         *(getattr(ReportNetworkMonth, m) for m in MEASURES)),
                  select(month.label("month"), *(getattr(ReportDelta, k) for k in _NETWORK_KEYS[1:]),
                         *(getattr(ReportDelta, m) for m in MEASURES))).subquery("u")
    group = [u.c[k] for k in _NETWORK_MONTH_KEYS]
    rollup = _keyed(session.execute(select(*group, *(func.sum(u.c[m]) for m in MEASURES)).group_by(*group)))
    raw_cols = [_period_expr(pg, raw_keys["day"], "month")] + [raw_keys[k] for k in _NETWORK_KEYS[1:]]
    raw = _keyed(session.execute(select(*raw_cols, func.count(), func.sum(Shipment.pieces), func.sum(fen))
                                 .select_from(Shipment).outerjoin(st, on).where(COUNTED).group_by(*raw_cols)))
    differences += _compare("report_network_months", rollup, raw)
    return differences + _reconcile_quality(session, pg)


def _reconcile_quality(session: Session, pg: bool) -> list[Difference]:
    """The quality rollups (plus the unfolded quality deltas) against a recount of the shipments."""
    raw_q = quality_raw_select(pg).subquery("raw")
    days, deltas = ReportQualityDay.__table__, ReportQualityDelta.__table__
    measures = QUALITY_MEASURES
    u = union_all(select(*(days.c[k] for k in QUALITY_KEYS), *(days.c[m] for m in measures)),
                  select(*(deltas.c[k] for k in QUALITY_KEYS), *(deltas.c[m] for m in measures))).subquery("u")
    group = [u.c[k] for k in QUALITY_KEYS]
    rollup = _keyed(session.execute(select(*group, *(func.sum(u.c[m]) for m in measures)).group_by(*group)),
                    len(measures))
    raw_group = [raw_q.c[k] for k in QUALITY_KEYS]
    raw = _keyed(session.execute(select(*raw_group, *(func.sum(raw_q.c[m]) for m in measures))
                                 .group_by(*raw_group)), len(measures))
    differences = _compare(days.name, rollup, raw)
    # The month tables: their histogram columns against the raw buckets pivoted the same way.
    for model in (ReportQualityMonth, ReportQualityCarrierMonth, ReportQualityYear):
        table, keys = model.__table__, _QUALITY_HIST_TABLES[model.__tablename__]
        period = keys[0]

        def pivoted(source, month, bucket_rows: bool):
            columns = [month.label(period)] + [source.c[k] for k in keys[1:]]
            values = [source.c[m] for m in measures]
            values += ([case((source.c.hours == b, source.c.shipments), else_=0) for b in HOUR_BUCKETS]
                       if bucket_rows else [source.c[h] for h in HIST_COLUMNS])
            return columns, values

        parts = []
        for source, bucket_rows in ((table, False), (deltas, True)):
            month = source.c[period] if source is table else literal_column(_truncate_sql(pg, period, "day"),
                                                                              Date)
            columns, values = pivoted(source, month, bucket_rows)
            parts.append(select(*columns, *(v.label(n) for v, n in zip(values, measures + HIST_COLUMNS))))
        u = union_all(*parts).subquery("u")
        group = [u.c[k] for k in keys]
        names = measures + HIST_COLUMNS
        rollup = _keyed(session.execute(select(*group, *(func.sum(u.c[n]) for n in names)).group_by(*group)),
                        len(names))
        columns, values = pivoted(raw_q, literal_column(_truncate_sql(pg, period, "raw.day"), Date), True)
        raw = _keyed(session.execute(select(*columns, *(func.sum(v) for v in values)).group_by(*columns)),
                     len(names))
        differences += _compare(table.name, rollup, raw)
    return differences


def _compare(name: str, rollup: dict, raw: dict, prefix: tuple = ()) -> list[Difference]:
    out = []
    for key in sorted(set(rollup) | set(raw), key=str):
        got, want = rollup.get(key), raw.get(key)
        if got != want:
            width = len(got or want)
            out.append(Difference(name, prefix + key, got or (0,) * width, want or (0,) * width))
    return out


def _keyed(result, n: int = len(MEASURES)) -> dict:
    """{key: measures} of (key..., measure...) rows (the last `n` columns), all-zero rows dropped."""
    out = {}
    for row in result:
        key, values = row[:-n], tuple(int(v or 0) for v in row[-n:])
        key = tuple(_as_date(k) if isinstance(k, (datetime, date)) else k for k in key)
        if any(values):
            out[key] = values
    return out
