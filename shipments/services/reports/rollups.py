"""Rollup maintenance: fold the deltas the triggers append, rebuild from raw rows, reconcile.

Readers add the deltas not yet folded, so every figure is exact at any
moment; the fold only keeps report_deltas short.
"""
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, func, literal_column, select, text, union_all
from sqlalchemy.orm import Session

from shipments.models import ReportDay, ReportDelta, ReportProgramDay, ReportProgramDim, ReportProgramMonth, Shipment
from shipments.models.reports import DIMENSIONS, FINE_DIMENSIONS
from shipments.services.reports.common import (
    _FILTER_COLUMNS, COUNTED, ReportFilters, _as_date, _is_pg, _period_expr, _raw_keys,
)

FOLD_LOCK_KEY = 6_042_004  # pg advisory lock serialising refresh_rollups
# Grain -> rollup table; any name in DIMENSIONS is also a grain: report_program_dims for that dimension.
GRAINS = {"fine": ReportDay, "day": ReportProgramDay, "month": ReportProgramMonth}


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
