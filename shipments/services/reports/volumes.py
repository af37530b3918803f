"""Volumes: shipments, pieces and declared value per period and grouping, from the rollups."""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shipments.models import Shipment
from shipments.models.reports import DIMENSIONS
from shipments.services.reports.common import (
    _FILTER_COLUMNS, COARSE_GROUPINGS, GROUPINGS, PERIODS, ReportError, ReportFilters, _as_date, _is_pg,
    _period_expr, _raw_keys, _raw_where, _yuan,
)
from shipments.services.reports.rollups import _rollup_union


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


def _grain(period: str, group_by: tuple[str, ...], filters: ReportFilters) -> str:
    """The coarsest rollup that answers the request exactly."""
    columns = ({GROUPINGS[g] for g in group_by if g not in COARSE_GROUPINGS}
               | {column for name, column in _FILTER_COLUMNS.items()
                  if name not in ("program_id", "county") and getattr(filters, name) is not None})
    by_month = period in ("month", "season")  # month tables, the edge days corrected from the day tables
    if "taken" in columns:
        if columns <= {"taken", "township_code"}:
            return "progress_month" if by_month else "progress"
        return "fine"
    if columns:
        return columns.pop() if len(columns) == 1 and columns <= set(DIMENSIONS) else "fine"
    return "month" if by_month else "day"


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
