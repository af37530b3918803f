"""The officials' network view: per county and township, and the county assessment table (考核清单).

Station counts come from the stations table (thousands of rows); every parcel
figure comes from the report rollups (services/reports), so the view costs a
handful of GROUP BYs over rollup rows whatever the number of shipments.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shipments.models import Division, Program, Route, Station, StationAction
from shipments.models.enums import DivisionLevel, StationLevel
from shipments.services import reports
from shipments.services.network.figures import _percent

SILENT_DAYS = 14


@dataclass
class AreaFigures:
    """One county or township: its stations, coverage, parcels and growth."""

    code: str
    name: str
    village_stations: int = 0
    active_stations: int = 0
    post_express: int = 0
    silent: list[Station] = field(default_factory=list)
    routes: int = 0
    inbound: int = 0
    outbound: int = 0
    pieces: int = 0
    pieces_last_year: int = 0
    next_day_on_time: int = 0
    next_day_late: int = 0

    @property
    def coverage(self) -> Decimal | None:
        """Village stations with at least one parcel in the period / all village stations (%)."""
        return _percent(self.active_stations, self.village_stations)

    @property
    def post_express_coverage(self) -> Decimal | None:
        return _percent(self.post_express, self.village_stations)

    @property
    def growth(self) -> Decimal | None:
        """Year-over-year growth of pieces (%), against the same days a year earlier."""
        if not self.pieces_last_year:
            return None
        return _percent(self.pieces - self.pieces_last_year, self.pieces_last_year)

    @property
    def next_day_rate(self) -> Decimal | None:
        return _percent(self.next_day_on_time, self.next_day_on_time + self.next_day_late)


@dataclass
class NetworkView:
    date_from: date
    date_to: date
    county: str | None
    areas: list[AreaFigures]
    stations: list[dict]  # the township's stations when one is chosen
    programs: list[dict]  # year-over-year per program
    county_name: str | None = None

    @property
    def total(self) -> AreaFigures:
        total = AreaFigures("", "合计")
        for area in self.areas:
            for name in ("village_stations", "active_stations", "post_express", "routes", "inbound", "outbound",
                         "pieces", "pieces_last_year", "next_day_on_time", "next_day_late"):
                setattr(total, name, getattr(total, name) + getattr(area, name))
            total.silent += area.silent
        return total


def _last_year(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def network_view(session: Session, date_from: date, date_to: date, county: str | None = None,
                 township: str | None = None, lang: str = "zh") -> NetworkView:
    """Per county (or, with `county`, per township of it): stations, coverage, 邮快合作, silent stations with
    their attendant, routes, inbound/outbound, growth on last year and the perishables' next-day rate."""
    level_code = (lambda code: code[:6]) if county is None else (lambda code: code)
    division_level = DivisionLevel.COUNTY if county is None else DivisionLevel.TOWNSHIP
    names_query = select(Division.code, Division.name if lang == "zh" else Division.name_en).where(
        Division.level == division_level)
    if county:
        names_query = names_query.where(Division.parent_code == county)
    names = dict(session.execute(names_query).all())
    areas = {code: AreaFigures(code, name) for code, name in sorted(names.items())}

    stations_query = select(Station).where(Station.level == StationLevel.VILLAGE, Station.active.is_(True))
    if county:
        stations_query = stations_query.where(func.substr(Station.division_code, 1, 6) == county)
    villages = session.scalars(stations_query.order_by(Station.division_code, Station.name)).all()
    filters = reports.ReportFilters(date_from=date_from, date_to=date_to, county=county)
    active = {r.keys[0] for r in reports.volume_report(session, "season", ("station",), filters).rows}
    as_of = date_to
    recent = replace(filters, date_from=as_of - timedelta(days=SILENT_DAYS - 1))
    heard = {r.keys[0] for r in reports.volume_report(session, "season", ("station",), recent).rows}
    since = reports.day_start(as_of - timedelta(days=SILENT_DAYS - 1))
    heard |= set(session.scalars(select(StationAction.station_id).where(StationAction.recorded_at >= since)
                                 .distinct()))
    for station in villages:
        area = areas.get(level_code(station.division_code))
        if area is None:
            continue
        area.village_stations += 1
        area.active_stations += station.id in active
        area.post_express += bool(station.post_express)
        if station.id not in heard:
            area.silent.append(station)
    route_query = select(Route.county_code, func.count()).where(Route.active.is_(True)).group_by(Route.county_code)
    if county is None:
        for code, count in session.execute(route_query):
            if code in areas:
                areas[code].routes = count
    grouping = "county" if county is None else "township"
    for row in reports.volume_report(session, "season", (grouping, "direction"), filters).rows:
        area = areas.get(row.keys[0])
        if area is not None:
            setattr(area, row.keys[1], getattr(area, row.keys[1]) + row.shipments)
            area.pieces += row.pieces
    last_year = replace(filters, date_from=_last_year(date_from), date_to=_last_year(date_to))
    for row in reports.volume_report(session, "season", (grouping,), last_year).rows:
        if row.keys[0] in areas:
            areas[row.keys[0]].pieces_last_year += row.pieces
    if county is None:
        perishable = dict(session.execute(select(Program.id, Program.county_code)
                                          .where(Program.perishable.is_(True))).all())
        now = reports.day_start(date_to + timedelta(days=1))
        for row in reports.quality_report(session, filters, now, by_province=False):
            code = perishable.get(row.program_id)
            if code in areas:
                areas[code].next_day_on_time += row.next_day_on_time
                areas[code].next_day_late += row.next_day_late
    stations = []
    if township:
        ids = [s for s in villages if s.division_code == township]
        for station in ids:
            stations.append({"station": station, "active": station.id in active, "silent": station.id not in heard})
    programs = []
    this_year = {r.keys[0]: r.pieces for r in reports.volume_report(session, "season", ("program",), filters).rows}
    before = {r.keys[0]: r.pieces for r in reports.volume_report(session, "season", ("program",), last_year).rows}
    program_names = dict(session.execute(select(Program.id, Program.name if lang == "zh" else Program.name_en)).all())
    for pid in sorted(set(this_year) | set(before), key=lambda p: -this_year.get(p, 0)):
        if pid in program_names:
            pieces, base = this_year.get(pid, 0), before.get(pid, 0)
            programs.append({"id": pid, "name": program_names[pid], "pieces": pieces, "last_year": base,
                             "growth": _percent(pieces - base, base) if base else None})
    county_name = None
    if county:
        county_name = session.scalar(select(Division.name if lang == "zh" else Division.name_en)
                                     .where(Division.code == county))
    return NetworkView(date_from, date_to, county, list(areas.values()), stations, programs, county_name)
