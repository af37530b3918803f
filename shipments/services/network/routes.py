"""客货邮 routes and 共富邮路: ordered stops, a timetable, and their parcels."""
from __future__ import annotations

import re

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from shipments.models import Division, Route, RouteStop, Station
from shipments.models.enums import RouteKind
from shipments.services.network.stations import StationError
from shipments.services.shipments import has_control_chars

_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def list_routes(county: str | None = None, after_id: int | None = None) -> Select:
    """Select routes with their stops, by id (keyset), optionally in one county."""
    query = select(Route).options(selectinload(Route.stops).selectinload(RouteStop.station))
    if county:
        query = query.where(Route.county_code == county)
    if after_id is not None:
        query = query.where(Route.id > after_id)
    return query.order_by(Route.id)


MAX_STOPS = 60
MAX_MINUTES = 24 * 60


def create_route(session: Session, name: str, kind: RouteKind | str, county_code: str, departures: list[str],
                 station_ids: list[int], operator: str | None = None) -> Route:
    """Add a route with its stops in order (raises StationError naming the field)."""
    return save_route(session, None, name=name, kind=kind, county_code=county_code, departures=departures,
                      stops=[(station_id, None) for station_id in station_ids], operator=operator)


def parse_stops(session: Session, text: str) -> list[tuple[int, int | None]]:
    """Stops typed one per line, in order: "站点名称" or "站点名称, 分钟" (minutes after departure), the
    name or census code of a station → [(station id, minutes or None)]; StationError("stops") names the line."""
    stops = []
    for line_no, line in enumerate((text or "").splitlines(), start=1):
        cells = [c.strip() for c in re.split(r"[,，\t]", line)]
        if not any(cells):
            continue
        if len(cells) > 2 or not cells[0]:
            raise StationError("stops", f"第 {line_no} 行：应为 站点名称[,分钟] (line {line_no}: station name[, minutes])")
        station_id = session.scalar(select(Station.id).where(Station.name == cells[0])) or session.scalar(
            select(Station.id).where(Station.census_code == cells[0]))
        if station_id is None:
            raise StationError("stops", f"第 {line_no} 行：没有名为“{cells[0][:40]}”的站点 "
                                        f"(line {line_no}: no station named {cells[0][:40]})")
        minutes = None
        if len(cells) == 2 and cells[1]:
            if not cells[1].isdigit() or int(cells[1]) > MAX_MINUTES:
                raise StationError("stops", f"第 {line_no} 行：分钟应为 0–{MAX_MINUTES} 的整数 "
                                            f"(line {line_no}: minutes must be a whole number 0–{MAX_MINUTES})")
            minutes = int(cells[1])
        stops.append((station_id, minutes))
    return stops


def save_route(session: Session, route: Route | None, *, name: str, kind: RouteKind | str, county_code: str,
               departures: list[str], stops: list[tuple[int, int | None]], operator: str | None = None,
               active: bool = True) -> Route:
    """Add a route (route None) or change one: its stops are replaced by `stops` in order, each with its
    minutes after departure (None: 10 minutes per stop). Raises StationError naming the field."""
    name = (name or "").strip()
    if not name or len(name) > 80 or has_control_chars(name):
        raise StationError("name", "名称必填，最多 80 字 (required, at most 80 characters)")
    clash = session.scalar(select(Route.id).where(Route.name == name))
    if clash is not None and (route is None or clash != route.id):
        raise StationError("name", "已有同名线路 (a route with this name exists)")
    try:
        kind = RouteKind(kind)
    except ValueError:
        raise StationError("kind", "未知的线路类型 (unknown route kind)") from None
    county = session.get(Division, county_code or "")
    if county is None or county.parent_code != "330600":
        raise StationError("county_code", "未知的区县 (unknown county)")
    bad = [t for t in departures if not _TIME.match(t)]
    if bad or len(departures) > 12:
        raise StationError("departures", "发车时间应为 HH:MM，最多 12 个 (times as HH:MM, at most 12)")
    operator = (operator or "").strip() or None
    if operator and (len(operator) > 80 or has_control_chars(operator)):
        raise StationError("operator", "最多 80 字 (at most 80 characters)")
    station_ids = [station_id for station_id, _ in stops]
    if not station_ids or len(station_ids) != len(set(station_ids)) or len(station_ids) > MAX_STOPS:
        raise StationError("station_ids", f"站点不能为空或重复 (stops must be distinct, 1–{MAX_STOPS})")
    found = dict(session.execute(select(Station.id, Station.division_code).where(Station.id.in_(station_ids))).all())
    missing = [i for i in station_ids if i not in found]
    if missing:
        raise StationError("station_ids", f"未知的站点：{missing[:5]} (unknown stations)")
    elsewhere = [i for i in station_ids if found[i][:6] != county_code]
    if elsewhere:
        raise StationError("station_ids", f"站点不在该区县：{elsewhere[:5]} (stations outside the route's county)")
    minutes = [m if m is not None else (position - 1) * 10 for position, (_, m) in enumerate(stops, start=1)]
    if any(later < earlier for earlier, later in zip(minutes, minutes[1:])):
        raise StationError("station_ids", "各站分钟数应依次不减 (minutes after departure must not go down)")
    if route is None:
        route = Route()
        session.add(route)
    elif route.stops:
        # Positions are the key: the old stops go first, then the new ones take their places.
        route.stops.clear()
        session.flush()
    route.name, route.kind, route.county_code, route.departures = name, kind, county_code, " ".join(departures)
    route.operator, route.active = operator, active
    for position, (station_id, minute) in enumerate(zip(station_ids, minutes), start=1):
        route.stops.append(RouteStop(position=position, station_id=station_id, minutes=minute))
    session.flush()
    return route
