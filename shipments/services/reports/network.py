"""Network: village-station coverage, silent stations, inbound vs outbound per township."""
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from shipments.models import ReportDelta, ReportNetworkDay, ReportNetworkMonth, Station
from shipments.models.enums import StationLevel
from shipments.services.reports.common import ReportFilters, _percent, beijing_today
from shipments.services.reports.labels import _division_names
from shipments.services.reports.rollups import split_period
from shipments.services.reports.volumes import volume_report

SILENT_DAYS = 14


@dataclass
class NetworkReport:
    village_stations: int
    active_village_stations: int
    silent_stations: list  # rows of (id, name, division_code)
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
    # Columns, not Station objects: ~1,400 village stations a call (the dashboard's network card among them).
    villages = select(Station.id, Station.name, Station.division_code).where(Station.level == StationLevel.VILLAGE)
    if filters.county:
        villages = villages.where(func.substr(Station.division_code, 1, 6) == filters.county)
    if filters.township:
        villages = villages.where(Station.division_code == filters.township)
    stations = session.execute(villages.order_by(Station.division_code, Station.name)).all()
    village_ids = {s.id for s in stations}
    recent = replace(filters, date_from=as_of - timedelta(days=SILENT_DAYS - 1), date_to=as_of, station_id=None)
    if {name for name in ReportFilters.__dataclass_fields__ if getattr(filters, name) is not None} <= NETWORK_FILTERS:
        active = _network_stations(session, replace(filters, station_id=None)) & village_ids
        recent_ids = _network_stations(session, recent)
        flows = _network_flows(session, filters)
    else:
        active = {r.keys[0] for r in volume_report(session, "month", ("station",), replace(
            filters, station_id=None)).rows if r.keys[0] in village_ids}
        recent_ids = {r.keys[0] for r in volume_report(session, "month", ("station",), recent).rows}
        flows = [(r.keys[0], r.keys[1], r.shipments, r.pieces)
                 for r in volume_report(session, "season", ("township", "direction"), filters).rows]
    silent = [s for s in stations if s.id not in recent_ids]
    by_township: dict[str, dict] = {}
    for code, direction, shipments, pieces in flows:
        entry = by_township.setdefault(code, {"code": code, "inbound": 0, "outbound": 0,
                                              "inbound_pieces": 0, "outbound_pieces": 0})
        entry[direction] += shipments
        entry[f"{direction}_pieces"] += pieces
    names = _division_names(session)
    townships = []
    for code in sorted(by_township, key=lambda c: (not c, c or "")):  # the unknown township (no code) last
        entry = by_township[code]
        entry["name"] = names.get(code, code or "未知乡镇")
        townships.append(entry)
    return NetworkReport(len(stations), len(active), silent, townships, as_of)


# Filters report_network_days answers; others go through the volume rollups.
NETWORK_FILTERS = frozenset({"date_from", "date_to", "county", "township", "station_id"})


def _network_union(filters: ReportFilters):
    """report_network_months for whole months, signed edge days of report_network_days, the unfolded volume
    deltas: in the filters, as one subquery (rollups.split_period)."""
    months, edges = split_period(filters.date_from, filters.date_to, beijing_today())
    sources = ([(ReportNetworkMonth, 1, *months)] if months else [])
    sources += [(ReportNetworkDay, sign, start, end) for sign, start, end in edges]
    sources.append((ReportDelta, 1, filters.date_from, filters.date_to))
    parts = []
    for model, sign, start, end in sources:
        day = model.month if model is ReportNetworkMonth else model.day
        conds = []
        if start is not None:
            conds.append(day >= start)
        if end is not None:
            conds.append(day <= end)
        if filters.county is not None:
            conds.append(model.county_code == filters.county)
        if filters.township is not None:
            conds.append(model.township_code == filters.township)
        if filters.station_id is not None:
            conds.append(model.station_id == filters.station_id)
        shipments, pieces = (model.shipments, model.pieces) if sign > 0 else (-model.shipments, -model.pieces)
        parts.append(select(model.township_code, model.station_id, model.direction, shipments.label("shipments"),
                            pieces.label("pieces")).where(*conds))
    return union_all(*parts).subquery("n")


def _network_stations(session: Session, filters: ReportFilters) -> set[int]:
    """Stations with at least one shipment in the filters."""
    u = _network_union(filters)
    return set(session.scalars(select(u.c.station_id).group_by(u.c.station_id).having(func.sum(u.c.shipments) != 0)))


def _network_flows(session: Session, filters: ReportFilters) -> list[tuple[str, str, int, int]]:
    """(township, direction, shipments, pieces) in the filters."""
    u = _network_union(filters)
    stmt = (select(u.c.township_code, u.c.direction, func.sum(u.c.shipments), func.sum(u.c.pieces))
            .group_by(u.c.township_code, u.c.direction).having(func.sum(u.c.shipments) != 0))
    return [(code, direction, int(n), int(p or 0)) for code, direction, n, p in session.execute(stmt)]
