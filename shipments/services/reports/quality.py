"""Delivery quality (揽收率, transit hours, 次日递率) and late perishables."""
import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Date, DateTime, Float, Integer, Select, and_, case, cast, func, literal_column, or_, select, type_coerce
from sqlalchemy.orm import Session

from shipments.models import Program, Shipment
from shipments.models.enums import ShipmentStatus
from shipments.models.shipments import TrackingEvent
from shipments.services.reports.common import (
    BEIJING, PICKUP_HOURS, ReportFilters, _hours, _is_pg, _percent, _raw_keys, _raw_where,
)


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
