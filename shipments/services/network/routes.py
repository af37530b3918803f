"""客货邮 routes and 共富邮路: ordered stops, a timetable, and their parcels."""
from __future__ import annotations

import re

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from shipments.models import Division, Route, RouteStop, Station
from shipments.models.enums import RouteKind
from shipments.services.network.stations import StationError

_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def list_routes(county: str | None = None, after_id: int | None = None) -> Select:
    """Select routes with their stops, by id (keyset), optionally in one county."""
    query = select(Route).options(selectinload(Route.stops).selectinload(RouteStop.station))
    if county:
        query = query.where(Route.county_code == county)
    if after_id is not None:
        query = query.where(Route.id > after_id)
    return query.order_by(Route.id)


def create_route(session: Session, name: str, kind: RouteKind | str, county_code: str, departures: list[str],
                 station_ids: list[int], operator: str | None = None) -> Route:
    """Add a route with its stops in order (raises StationError naming the field)."""
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise StationError("name", "名称必填，最多 80 字 (required, at most 80 characters)")
    if session.scalar(select(Route.id).where(Route.name == name)):
        raise StationError("name", "已有同名线路 (a route with this name exists)")
    county = session.get(Division, county_code)
    if county is None or county.parent_code != "330600":
        raise StationError("county_code", "未知的区县 (unknown county)")
    bad = [t for t in departures if not _TIME.match(t)]
    if bad or len(departures) > 12:
        raise StationError("departures", "发车时间应为 HH:MM (times as HH:MM)")
    if not station_ids or len(station_ids) != len(set(station_ids)) or len(station_ids) > 60:
        raise StationError("station_ids", "站点不能为空或重复 (stops must be distinct, 1–60)")
    found = set(session.scalars(select(Station.id).where(Station.id.in_(station_ids))))
    missing = [i for i in station_ids if i not in found]
    if missing:
        raise StationError("station_ids", f"未知的站点：{missing[:5]} (unknown stations)")
    route = Route(name=name, kind=RouteKind(kind), county_code=county_code, departures=" ".join(departures),
                  operator=operator)
    for position, station_id in enumerate(station_ids, start=1):
        route.stops.append(RouteStop(position=position, station_id=station_id, minutes=(position - 1) * 10))
    session.add(route)
    session.flush()
    return route
