"""Centre and route figures: reported volumes against capacity and our own parcels, route in/out.

Route parcels come from the report rollups (services/reports.py), one GROUP BY
over rollup rows, fit for 10M shipments; a centre's own-parcel figure comes
from the scans matched to the centre (an index range, see scanned_at_centre).
The tests recount them from raw rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import Date, cast, func, select, type_coerce
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shipments.models import CentreCapacity, CentreDay, Route, Shipment, Station, TrackingEvent
from shipments.models.enums import ShipmentStatus, StationKind, StationLevel
from shipments.services import reports

BEIJING = timezone(timedelta(hours=8))
COMPARE_DAYS = 30  # before/after window around a capacity change
MAX_DAYS = 366


class FigureError(ValueError):
    """A figure request or centre report that cannot be honoured (field, message)."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name
        self.message = message


def _percent(part, whole) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


# --- Centres: what they report -------------------------------------------

def find_centre(session: Session, station_id: int) -> Station | None:
    """The co-distribution centre with this id, or None."""
    station = session.get(Station, station_id)
    return station if station is not None and station.kind == StationKind.CO_DISTRIBUTION_CENTRE else None


def record_centre_days(session: Session, centre: Station, days: list[tuple[date, int]], source: str,
                       now: datetime, today: date | None = None) -> int:
    """Store a centre's sorted volumes per day (a later report of a day replaces the earlier one)."""
    today = today or now.astimezone(BEIJING).date()
    rows = []
    for day, pieces in days:
        if day > today:
            raise FigureError("day", f"{day.isoformat()} 尚未到来 (a day in the future)")
        if not isinstance(pieces, int) or isinstance(pieces, bool) or not 0 <= pieces <= 10_000_000:
            raise FigureError("sorted_pieces", "应为 0–10000000 的整数 (a whole number 0–10,000,000)")
        rows.append({"station_id": centre.id, "day": day, "sorted_pieces": pieces, "source": source,
                     "reported_at": now})
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(CentreDay.__table__)
    session.execute(insert.on_conflict_do_update(
        index_elements=["station_id", "day"],
        set_={"sorted_pieces": insert.excluded.sorted_pieces, "source": insert.excluded.source,
              "reported_at": insert.excluded.reported_at}), rows)
    return len(rows)


def parse_centre_csv(text: str) -> tuple[list[tuple[date, int]], list[dict]]:
    """Rows 'day,sorted_pieces' (header optional) → (valid days, problems by row)."""
    days, problems = [], []
    for row_no, line in enumerate(text.splitlines(), start=1):
        cells = [c.strip() for c in line.replace("，", ",").split(",")]
        if not any(cells) or (row_no == 1 and not cells[0][:1].isdigit()):
            continue
        try:
            day = date.fromisoformat(cells[0].replace("/", "-"))
        except ValueError:
            problems.append({"row": row_no, "field": "day", "message": "日期应为 YYYY-MM-DD (a date)"})
            continue
        if len(cells) < 2 or not cells[1].replace(",", "").isdigit():
            problems.append({"row": row_no, "field": "sorted_pieces", "message": "件数应为整数 (a whole number)"})
            continue
        days.append((day, int(cells[1])))
    return days, problems


@dataclass
class CentreFigures:
    centre: Station
    date_from: date
    date_to: date
    days: list[dict] = field(default_factory=list)  # day, reported, ours, capacity, utilisation
    reported_total: int = 0
    ours_total: int | None = 0  # None: not counted (count_ours=False)
    peak: dict | None = None
    change: dict | None = None  # the latest capacity change in or before the period, with before/after averages

    @property
    def average(self) -> int | None:
        reported = [d["reported"] for d in self.days if d["reported"] is not None]
        return round(sum(reported) / len(reported)) if reported else None

    @property
    def share_ours(self) -> Decimal | None:
        return None if self.ours_total is None else _percent(self.ours_total, self.reported_total)


def _capacities(session: Session, centre_id: int) -> list[CentreCapacity]:
    return session.scalars(select(CentreCapacity).where(CentreCapacity.station_id == centre_id)
                           .order_by(CentreCapacity.effective_from)).all()


def _capacity_on(capacities: list[CentreCapacity], day: date, default: int | None) -> int | None:
    value = None
    for capacity in capacities:
        if capacity.effective_from <= day:
            value = capacity.daily_capacity
    return value if value is not None else default


def scanned_at_centre(session: Session, centre: Station, date_from: date, date_to: date) -> dict[date, int]:
    """Pieces of our (not cancelled) parcels scanned at the centre, per Beijing day of the scan.

    Reads the events matched to the centre when they were applied (tracking_events.station_id,
    network/matching.py) through their partial index: a parcel scanned twice on a day (in and
    out) counts once that day. Not the township's parcels: only what went through the centre.
    """
    events = TrackingEvent.__table__.c
    if session.get_bind().dialect.name == "postgresql":
        day = cast(func.timezone("Asia/Shanghai", events.occurred_at), Date)
    else:
        day = type_coerce(func.date(events.occurred_at, "+8 hours"), Date)
    scans = (select(day.label("day"), events.shipment_id)
             .where(events.station_id == centre.id, events.occurred_at >= reports.day_start(date_from),
                    events.occurred_at < reports.day_start(date_to + timedelta(days=1)))
             .distinct().subquery())
    query = (select(scans.c.day, func.sum(Shipment.pieces))
             .join(Shipment, Shipment.id == scans.c.shipment_id)
             .where(Shipment.status != ShipmentStatus.CANCELLED)
             .group_by(scans.c.day))
    return {_as_date(d): int(n) for d, n in session.execute(query)}


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def centre_figures(session: Session, centre: Station, date_from: date, date_to: date,
                   count_ours: bool = True) -> CentreFigures:
    """Per day: reported sorted volume, our parcels scanned at the centre, capacity and utilisation;
    the peak day; averages before and after the latest capacity change.

    count_ours=False leaves our parcels out (None per day): the dashboard's card shows the reported
    figures only, and a year of scans at a centre was its slowest read (0.5 s at 10M shipments).
    """
    if date_to < date_from or (date_to - date_from).days >= MAX_DAYS:
        raise FigureError("date_to", f"期间应为 1–{MAX_DAYS} 天 (a period of 1–{MAX_DAYS} days)")
    reported = dict(session.execute(
        select(CentreDay.day, CentreDay.sorted_pieces)
        .where(CentreDay.station_id == centre.id, CentreDay.day >= date_from, CentreDay.day <= date_to)).all())
    ours = scanned_at_centre(session, centre, date_from, date_to) if count_ours else None
    capacities = _capacities(session, centre.id)
    figures = CentreFigures(centre, date_from, date_to)
    day = date_from
    while day <= date_to:
        capacity = _capacity_on(capacities, day, centre.daily_capacity)
        value = reported.get(day)
        figures.days.append({"day": day, "reported": value, "ours": ours.get(day, 0) if count_ours else None,
                             "capacity": capacity,
                             "utilisation": _percent(value, capacity) if value is not None else None})
        day += timedelta(days=1)
    figures.reported_total = sum(reported.values())
    figures.ours_total = sum(ours.values()) if count_ours else None
    with_report = [d for d in figures.days if d["reported"] is not None]
    if with_report:
        figures.peak = max(with_report, key=lambda d: (d["reported"], d["day"]))
    changes = [c for c in capacities[1:] if c.effective_from <= date_to]
    if changes:
        change = changes[-1]
        before_cap = _capacity_on(capacities, change.effective_from - timedelta(days=1), None)
        figures.change = {
            "day": change.effective_from, "capacity_before": before_cap, "capacity_after": change.daily_capacity,
            "note": change.note,
            "average_before": _average(session, centre.id, change.effective_from - timedelta(days=COMPARE_DAYS),
                                       change.effective_from - timedelta(days=1)),
            "average_after": _average(session, centre.id, change.effective_from,
                                      min(date_to, change.effective_from + timedelta(days=COMPARE_DAYS - 1))),
        }
    return figures


def _average(session: Session, centre_id: int, date_from: date, date_to: date) -> int | None:
    values = session.scalars(select(CentreDay.sorted_pieces).where(
        CentreDay.station_id == centre_id, CentreDay.day >= date_from, CentreDay.day <= date_to)).all()
    return round(sum(values) / len(values)) if values else None


def centres_overview(session: Session, as_of: date, days: int = 30) -> list[dict]:
    """Every centre's load over the last `days` days: average, peak, capacity, utilisation, last change."""
    date_from = as_of - timedelta(days=days - 1)
    rows = session.execute(
        select(CentreDay.station_id, CentreDay.day, CentreDay.sorted_pieces)
        .where(CentreDay.day >= date_from, CentreDay.day <= as_of)).all()
    by_centre: dict[int, list[tuple[date, int]]] = {}
    for station_id, day, pieces in rows:
        by_centre.setdefault(station_id, []).append((day, pieces))
    changes: dict[int, list[CentreCapacity]] = {}
    for capacity in session.scalars(select(CentreCapacity).order_by(CentreCapacity.effective_from)):
        changes.setdefault(capacity.station_id, []).append(capacity)
    centres = session.scalars(select(Station).where(Station.kind == StationKind.CO_DISTRIBUTION_CENTRE)
                              .order_by(Station.level, Station.division_code)).all()
    overview = []
    for centre in centres:
        values = by_centre.get(centre.id, [])
        average = round(sum(v for _, v in values) / len(values)) if values else None
        peak = max(values, key=lambda v: (v[1], v[0])) if values else None
        history = changes.get(centre.id, [])
        last_change = history[-1] if len(history) > 1 else None
        overview.append({
            "centre": centre, "average": average, "peak_day": peak[0] if peak else None,
            "peak": peak[1] if peak else None, "capacity": centre.daily_capacity,
            "utilisation": _percent(average, centre.daily_capacity) if average is not None else None,
            "change": last_change, "before": history[-2].daily_capacity if last_change else None,
        })
    return overview


# --- Routes ---------------------------------------------------------------

def route_figures(session: Session, routes: list[Route], filters: reports.ReportFilters) -> list[dict]:
    """Per route and stop: parcels in (进村) and out (出村), pieces and declared value, from the rollups."""
    by_station: dict[int, dict] = {}
    for row in reports.volume_report(session, "season", ("station", "direction"), filters).rows:
        entry = by_station.setdefault(row.keys[0], {"in": 0, "out": 0, "in_pieces": 0, "out_pieces": 0,
                                                    "value": Decimal("0.00")})
        side = "in" if row.keys[1] == "inbound" else "out"
        entry[side] += row.shipments
        entry[f"{side}_pieces"] += row.pieces
        entry["value"] += row.value
    result = []
    for route in routes:
        stops, totals = [], {"in": 0, "out": 0, "in_pieces": 0, "out_pieces": 0, "value": Decimal("0.00")}
        for stop in route.stops:
            entry = by_station.get(stop.station_id, {"in": 0, "out": 0, "in_pieces": 0, "out_pieces": 0,
                                                     "value": Decimal("0.00")})
            stops.append({"position": stop.position, "station": stop.station, **entry})
            for key in totals:
                totals[key] += entry[key]
        result.append({"route": route, "stops": stops, **totals})
    return result


def dashboard_network(session: Session, as_of: date) -> dict:
    """The dashboard's network card: stations by level, routes, centres' load, and the centre whose
    capacity change moved its volume most (Pingshui in the demo) with before/after figures."""
    levels = dict(session.execute(select(Station.level, func.count()).where(Station.active.is_(True))
                                  .group_by(Station.level)).all())
    villages = levels.get(StationLevel.VILLAGE, 0)
    post_express = session.scalar(select(func.count()).where(
        Station.level == StationLevel.VILLAGE, Station.active.is_(True), Station.post_express.is_(True)))
    routes = session.scalar(select(func.count()).select_from(Route).where(Route.active.is_(True)))
    overview = [c for c in centres_overview(session, as_of) if c["average"] is not None]
    highlight = None
    for entry in overview:
        if entry["change"] is None or entry["change"].effective_from < as_of - timedelta(days=MAX_DAYS - 1):
            continue
        figures = centre_figures(session, entry["centre"], as_of - timedelta(days=MAX_DAYS - 1), as_of,
                                 count_ours=False)
        change = figures.change
        if change and change["average_before"] and change["average_after"]:
            ratio = change["average_after"] / change["average_before"]
            if highlight is None or ratio > highlight["ratio"]:
                highlight = {"centre": entry["centre"], "ratio": round(ratio, 1), "change": change,
                             "peak": figures.peak, "date_from": figures.date_from}
    return {"levels": {str(k): v for k, v in levels.items()}, "villages": villages,
            "post_express": _percent(post_express, villages), "routes": routes,
            "centres": sorted(overview, key=lambda c: -(c["utilisation"] or 0))[:8], "highlight": highlight}
