"""Delivery quality (揽收率, transit hours, 次日递率) and late perishables."""
import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from datetime import date, timedelta

from sqlalchemy import (
    Date, DateTime, Float, Integer, Select, and_, case, cast, extract, func, literal, literal_column, or_, select,
    type_coerce, union_all,
)
from sqlalchemy.orm import Session, joinedload, load_only

from shipments.models import (
    Program, ReportQualityCarrierMonth, ReportQualityDay, ReportQualityDelta, ReportQualityMonth, ReportQualityYear,
    Shipment,
)
from shipments.models.reports import HIST_COLUMNS, HOUR_BUCKETS, QUALITY_MEASURES, hours_bucket_bounds
from shipments.models.enums import ShipmentStatus
from shipments.services.reports.common import (
    BEIJING, PICKUP_HOURS, ReportFilters, _hours, _is_pg, _percent, _raw_keys, _raw_where, beijing_today, day_start,
)
from shipments.services.reports.rollups import _month_end, split_period

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


# Filters the quality rollup answers; any other (county, station, status, a member's organisation …)
# is answered from the shipments rows by quality_report_raw.
ROLLUP_FILTERS = frozenset({"date_from", "date_to", "program_id", "carrier", "province"})
_BUCKET_MIDDLE = {low: (low + high) / 2 for low, high in hours_bucket_bounds()}


def quality_report(session: Session, filters: ReportFilters | None = None, now: datetime | None = None,
                   by_province: bool = True, by_program: bool = True) -> list[QualityRow]:
    """Delivery quality per program × carrier (× destination province), over shipments registered in the filters.

    by_program=False: per carrier (× province) over every program (program_id None in the rows).

    From the month rollups (report_quality_months by province,
    report_quality_carrier_months without it; report_quality_years when
    there is no date filter) for the months of the period,
    corrected at its edges by signed day ranges of report_quality_days
    (rollups.split_period), plus the unfolded deltas. Each key's histogram
    is one row, so the read depends on the number of keys, not of parcels.
    Percentiles are exact to the transit-hour bucket (2 h up to 96 h): the
    continuous percentile over the buckets' middles.
    """
    filters = filters or ReportFilters()
    now = now or datetime.now(BEIJING)
    used = {name for name in ReportFilters.__dataclass_fields__ if getattr(filters, name) is not None}
    if not used <= ROLLUP_FILTERS:
        return quality_report_raw(session, filters, now, by_province, by_program)
    pg = _is_pg(session)
    cutoff = beijing_today(now) - timedelta(days=1)  # pickups from this day on are still within their window
    u = _quality_union(pg, filters, cutoff, by_province)
    group = ([u.c.program_id] if by_program else []) + [u.c.carrier] + ([u.c.province_code] if by_province else [])
    # Summed as integers: sum(bigint) accumulates in numeric (and comes back as Decimal), several
    # times slower over ~70 columns; a month bucket's counts fit an int4 by far.
    stmt = (select(*group, *(func.sum(cast(u.c[c], Integer)) for c in QUALITY_MEASURES + ("pending",) + HIST_COLUMNS))
            .group_by(*group).having(func.sum(cast(u.c.shipments, Integer)) != 0).order_by(*group))
    rows = []
    width = len(group)
    first_bucket = width + len(QUALITY_MEASURES) + 1
    for row in session.execute(stmt):
        key = row[:width] if by_program else (None, *row[:width])
        (shipments, picked_24h, no_pickup, on_time, late, unarrived, exceptions, returns,
         still_pending) = (int(v or 0) for v in row[width:first_bucket])
        counts = row[first_bucket:]
        histogram = [(HOUR_BUCKETS[i], n) for i, n in enumerate(counts) if n]
        program_id, carrier = key[0], key[1]
        province = (key[2] or None) if by_province else None
        rows.append(QualityRow(program_id or None, carrier, province, shipments, picked_24h, no_pickup, on_time,
                               late + unarrived - still_pending, still_pending, exceptions, returns,
                               _round_hours(_histogram_percentile(histogram, 0.5)),
                               _round_hours(_histogram_percentile(histogram, 0.9))))
    return rows


def _quality_union(pg: bool, filters: ReportFilters, cutoff: date, by_province: bool):
    """Quality counts and histogram columns in the period: month rollup, signed edge days, deltas.

    Each part also says how many of its unarrived parcels are still within
    their next-day window (picked up on or after `cutoff`): the month tables
    cannot, so those come from the day table's partial pickup-day index.
    """
    months, edges = split_period(filters.date_from, filters.date_to, beijing_today())
    month_model = ReportQualityMonth if by_province or filters.province is not None else ReportQualityCarrierMonth
    if month_model is ReportQualityMonth and filters.date_from is None and filters.date_to is None:
        month_model = ReportQualityYear  # all time: one row per key and year
    zero = literal(0)

    def keyed(model, conds):
        if filters.program_id is not None:
            conds.append(model.program_id == filters.program_id)
        if filters.carrier is not None:
            conds.append(model.carrier == filters.carrier)
        if filters.province is not None:
            conds.append(model.province_code == filters.province)
        province = model.province_code if hasattr(model, "province_code") else literal("")
        return [model.program_id, model.carrier, province.label("province_code")], conds

    def signed(value, sign):
        return value if sign > 0 else -value

    def from_buckets(model, conds, sign=1, pending=None, measures=True):
        """Rows with one bucket each (`hours`): the histogram columns pivoted."""
        keys, conds = keyed(model, conds)
        counts = [signed(getattr(model, m), sign).label(m) if measures else zero.label(m) for m in QUALITY_MEASURES]
        hist = [signed(case((model.hours == b, model.shipments), else_=0), sign).label(h) if measures
                else zero.label(h) for b, h in zip(HOUR_BUCKETS, HIST_COLUMNS)]
        pending = signed(case((model.pickup_day >= cutoff, model.unarrived), else_=0), sign) if pending is None \
            else pending
        return select(*keys, *counts, pending.label("pending"), *hist).where(*conds)

    def in_period(column, start, end):
        return [c for c in (start is not None and column >= start, end is not None and column <= end)
                if c is not False]

    delta, day = ReportQualityDelta, ReportQualityDay
    parts = [from_buckets(delta, in_period(delta.day, filters.date_from, filters.date_to))]
    if months is not None:
        first, last = months
        period = month_model.year if month_model is ReportQualityYear else month_model.month
        keys, conds = keyed(month_model, in_period(period, first, last))
        parts.append(select(*keys, *(getattr(month_model, m) for m in QUALITY_MEASURES), zero.label("pending"),
                            *(getattr(month_model, h) for h in HIST_COLUMNS)).where(*conds))
        # Inside those months: only the pending share, from the last pickup days (partial index), summed
        # per key of the answer first: the union then carries one row per key, not one per day, province
        # and bucket (thousands at 10M, each with ~70 zero columns to add up).
        last_day = None if last is None else _month_end(last)
        keys, conds = keyed(day, [day.unarrived != 0, day.pickup_day >= cutoff, *in_period(day.day, first, last_day)])
        per_province = by_province or filters.province is not None
        if not per_province:
            keys[2] = literal("").label("province_code")
        parts.append(select(*keys, *(zero.label(m) for m in QUALITY_MEASURES),
                            func.sum(day.unarrived).label("pending"), *(zero.label(h) for h in HIST_COLUMNS))
                     .where(*conds)
                     .group_by(day.program_id, day.carrier, *([day.province_code] if per_province else [])))
    for sign, start, end in edges:
        parts.append(from_buckets(day, in_period(day.day, start, end), sign))
    return union_all(*parts).subquery("q")


def _histogram_percentile(buckets: list[tuple[int, int]], fraction: float) -> float | None:
    """percentile_cont over a histogram (bucket lower bound, count), each value at its bucket's middle."""
    total = sum(n for _, n in buckets)
    if total == 0:
        return None
    position = fraction * (total - 1)
    low_rank, high_rank = math.floor(position), math.ceil(position)
    low = high = None
    seen = 0
    for bucket, n in buckets:
        if low is None and low_rank < seen + n:
            low = _BUCKET_MIDDLE.get(bucket, bucket)
        if high_rank < seen + n:
            high = _BUCKET_MIDDLE.get(bucket, bucket)
            break
        seen += n
    return low + (high - low) * (position - low_rank)


def _arrival():
    """When the parcel first reached a station/locker (stored when events are applied; the 次日递 end point)."""
    return Shipment.first_station_at


def _next_day_deadline(pg: bool, picked_up_at):
    """The end of the Beijing day after the pickup day (the pickup day itself is excluded)."""
    if pg:
        pickup_day = cast(func.timezone("Asia/Shanghai", picked_up_at), Date)
        local_midnight = cast(pickup_day + literal_column("2", Integer), DateTime())
        return func.timezone("Asia/Shanghai", local_midnight, type_=DateTime(timezone=True))
    return func.datetime(func.date(picked_up_at, "+8 hours", "+2 days"), "-8 hours")


def quality_report_raw(session: Session, filters: ReportFilters | None = None, now: datetime | None = None,
                       by_province: bool = True, by_program: bool = True) -> list[QualityRow]:
    """The same figures as quality_report, recounted over the shipments rows (exact percentiles on PostgreSQL)."""
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
    group = (q.program_id if by_program else literal_column("NULL").label("program_id"), q.carrier,
             q.province if by_province else literal_column("NULL").label("province"))
    grouped = [column for column, used in zip(group, (by_program, True, by_province)) if used]
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
    stmt = select(*group, *measures).group_by(*grouped).order_by(*grouped)
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


# Parcels that ended without a delivery: their clock stops at their last scan.
ENDED_UNDELIVERED = (ShipmentStatus.RETURNED, ShipmentStatus.EXPIRED)


def late_perishables(session: Session, filters: ReportFilters | None = None, now: datetime | None = None,
                     limit: int = 500) -> Select:
    """Select (shipment, hours taken) for perishables past their program's deadline, longest first.

    The clock starts at pickup (at registration when there was no pickup
    scan: the fruit ages either way) and stops at delivery, at the last scan of a
    parcel that ended otherwise (returned, no news), or now. On PostgreSQL each
    perishable program is read through indexed keysets (still travelling: oldest
    clock start first; delivered: longest trip first; ended otherwise: longest
    trip first), `limit` rows each at most, and merged.
    """
    filters = filters or ReportFilters()
    now = now or datetime.now(BEIJING)
    pg = _is_pg(session)
    start = func.coalesce(Shipment.picked_up_at, Shipment.registered_at)
    keys, fen, st, on = _raw_keys(pg)
    if pg and not any(getattr(filters, name) is not None for name in ("county", "township", "station_id")):
        return _late_keysets(session, filters, now, limit, start, keys)
    return late_perishables_scan(session, filters, now, limit)


def late_perishables_scan(session: Session, filters: ReportFilters, now: datetime, limit: int = 500) -> Select:
    """late_perishables over every perishable parcel (SQLite, station filters; the tests' recount)."""
    pg = _is_pg(session)
    start = func.coalesce(Shipment.picked_up_at, Shipment.registered_at)
    keys, fen, st, on = _raw_keys(pg)
    ended = case((Shipment.status.in_(ENDED_UNDELIVERED), Shipment.last_event_at))
    end = func.coalesce(Shipment.delivered_at, ended, now)
    hours = _hours(pg, start, end)
    return (select(Shipment, type_coerce(hours, Float).label("hours"))
            .select_from(Shipment).join(Program, Program.id == Shipment.program_id).outerjoin(st, on)
            .where(Program.perishable.is_(True), hours > Program.deadline_hours, *_raw_where(keys, filters))
            .order_by(hours.desc(), Shipment.id).limit(limit))


def _late_keysets(session: Session, filters: ReportFilters, now: datetime, limit: int, start, keys) -> Select:
    programs = select(Program.id, Program.deadline_hours).where(
        Program.perishable.is_(True), Program.deadline_hours.is_not(None))
    if filters.program_id is not None:
        programs = programs.where(Program.id == filters.program_id)
    conds = _raw_where(keys, filters)  # only shipments columns: no county/township/station filter here
    trip = Shipment.delivered_at - start
    parts = []
    open_hours = _hours(True, start, literal(now, DateTime(timezone=True))).label("hours")
    # With a first registration day, a clock starting before it belongs to a parcel picked up before it
    # was registered: the open clocks are read from that day on, and those few apart (exact, and the
    # keyset no longer walks every older undelivered parcel of the program).
    first = day_start(filters.date_from) if filters.date_from is not None else None
    for program_id, deadline in session.execute(programs).all():
        allowed = timedelta(hours=deadline)
        open_clock = [Shipment.program_id == program_id, Shipment.delivered_at.is_(None),
                      Shipment.status.not_in(ENDED_UNDELIVERED), start < now - allowed, *conds]
        if first is None:
            parts.append(select(Shipment.id, open_hours).where(*open_clock).order_by(start, Shipment.id).limit(limit))
        else:
            parts.append(select(Shipment.id, open_hours).where(*open_clock, start >= first)
                         .order_by(start, Shipment.id).limit(limit))
            parts.append(select(Shipment.id, open_hours)
                         .where(*open_clock, Shipment.picked_up_at < Shipment.registered_at,
                                Shipment.picked_up_at < first)
                         .order_by(Shipment.picked_up_at, Shipment.id).limit(limit))
        # Returned or gone quiet: the clock stopped at the last scan (few rows, read per program).
        ended_trip = Shipment.last_event_at - start
        parts.append(select(Shipment.id, (extract("epoch", ended_trip) / 3600.0).label("hours"))
                     .where(Shipment.program_id == program_id, Shipment.delivered_at.is_(None),
                            Shipment.status.in_(ENDED_UNDELIVERED), ended_trip > allowed, *conds)
                     .order_by(ended_trip.desc(), Shipment.id).limit(limit))
        parts.append(select(Shipment.id, (extract("epoch", trip) / 3600.0).label("hours"))
                     .where(Shipment.program_id == program_id, Shipment.delivered_at.is_not(None),
                            trip > allowed, *conds)
                     .order_by(trip.desc(), Shipment.id).limit(limit))
    if not parts:
        return select(Shipment, literal(0.0, Float).label("hours")).where(literal(False)).limit(0)
    # The longest `limit` ids first, then their rows: joining every keyset's rows before the limit read
    # ~9,000 shipments rows at 10M for 500 answers (and crossed the planner's JIT threshold).
    union = union_all(*parts).subquery("candidates")
    late = (select(union.c.id, union.c.hours).order_by(union.c.hours.desc(), union.c.id).limit(limit)
            .subquery("late"))
    return (select(Shipment, type_coerce(late.c.hours, Float).label("hours")).join(late, late.c.id == Shipment.id)
            .options(*LATE_COLUMNS).order_by(late.c.hours.desc(), Shipment.id))


# What the late list shows (page, API, export): 500 rows of the shipments' 44 columns were most of the read;
# each row's program (its name and deadline) comes in the same statement, not one statement per program.
LATE_COLUMNS = (load_only(Shipment.id, Shipment.carrier, Shipment.tracking_number, Shipment.program_id,
                          Shipment.status, Shipment.registered_at, Shipment.picked_up_at, Shipment.delivered_at),
                joinedload(Shipment.program))
