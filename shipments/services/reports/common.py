"""What every report shares: filters, Beijing periods, the raw-row report key, small numbers."""
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Date, Integer, Interval, Select, case, cast, extract, func, literal_column, select, type_coerce
from sqlalchemy.orm import Session, aliased

from shipments.models import Shipment, Station
from shipments.models.enums import Direction, ShipmentStatus
from shipments.models.reports import NOT_TAKEN_STATUSES

BEIJING = ZoneInfo("Asia/Shanghai")
PERIODS = ("day", "week", "month", "season")
# grouping name -> rollup column
GROUPINGS = {
    "program": "program_id", "county": "county_code", "township": "township_code", "station": "station_id",
    "carrier": "carrier", "status": "status", "direction": "direction", "channel": "channel",
    "province": "province_code",
}
COARSE_GROUPINGS = frozenset({"program", "county"})
PICKUP_HOURS = 24


class ReportError(ValueError):
    """A report request that cannot be answered (names the field)."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class ReportFilters:
    """The shipment-list filters, applied to every report (dates are Beijing days, inclusive)."""

    date_from: date | None = None
    date_to: date | None = None
    program_id: int | None = None
    county: str | None = None
    township: str | None = None
    station_id: int | None = None
    carrier: str | None = None
    status: str | None = None
    direction: str | None = None
    channel: str | None = None
    province: str | None = None
    organisation_id: int | None = None  # set for members: their own organisation only
    taken: bool | None = None  # True: only parcels the carrier has taken (the dashboard's 完成)

    @property
    def needs_fine_grain(self) -> bool:
        return any(getattr(self, name) is not None for name in (
            "township", "station_id", "carrier", "status", "direction", "channel", "province", "organisation_id",
            "taken"))


# Filter name -> rollup column
_FILTER_COLUMNS = {
    "program_id": "program_id", "county": "county_code", "township": "township_code", "station_id": "station_id",
    "carrier": "carrier", "status": "status", "direction": "direction", "channel": "channel",
    "province": "province_code", "organisation_id": "organisation_id", "taken": "taken",
}


def taken_expr(status):
    """SQL: the parcel has been taken by the carrier (完成 counts these; the rollups' `taken` key)."""
    return status.not_in(NOT_TAKEN_STATUSES)


# --- Time -------------------------------------------------------------------

def beijing_today(now: datetime | None = None) -> date:
    """Today's date in Beijing."""
    return (now or datetime.now(BEIJING)).astimezone(BEIJING).date()


def day_start(day: date) -> datetime:
    """The instant a Beijing day starts, as an aware datetime."""
    return datetime.combine(day, time(0), tzinfo=BEIJING)


def period_start(day: date, period: str) -> date:
    """The first day of the period (day/week/month/season) holding `day`."""
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    if period == "season":
        month = 12 if day.month in (12, 1, 2) else (day.month // 3) * 3
        year = day.year - 1 if day.month in (1, 2) else day.year
        return date(year, month, 1)
    raise ReportError("period", f"must be one of {', '.join(PERIODS)}")


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _period_expr(pg: bool, day, period: str):
    """SQL for the first day of the period holding the date expression `day`."""
    if period == "day":
        return day
    if pg:
        if period == "season":
            month = literal_column("interval '1 month'", Interval)
            return cast(func.date_trunc("quarter", day + month) - month, Date)
        return cast(func.date_trunc(period, day), Date)
    if period == "week":
        expr = func.date(day, "weekday 0", "-6 days")
    elif period == "month":
        expr = func.date(day, "start of month")
    else:
        # SQLite has no quarters: shift a month, take the quarter's first month, shift back.
        shifted = func.date(day, "start of month", "+1 month")
        first_month = (cast(func.strftime("%m", shifted), Integer) - 1) // 3 * 3 + 1
        expr = func.date(func.strftime("%Y", shifted) + "-" + func.printf("%02d", first_month) + "-01", "-1 month")
    return type_coerce(expr, Date)


# --- Raw-row report keys (the same rules as the migration's triggers) -------

def _raw_keys(pg: bool):
    """Labelled SQL expressions for a shipment's report key, and the station alias to outer-join."""
    st = aliased(Station, name="st")
    local_station = case((Shipment.direction == Direction.INBOUND, Shipment.destination_station_id),
                         else_=Shipment.origin_station_id)
    division = func.coalesce(Shipment.origin_division_code, st.division_code)
    if pg:
        day = cast(func.timezone("Asia/Shanghai", Shipment.registered_at), Date)
        fen = cast(func.coalesce(func.round(Shipment.declared_value * 100), 0), BigInteger)
    else:
        day = type_coerce(func.date(Shipment.registered_at, "+8 hours"), Date)
        fen = cast(func.coalesce(func.round(Shipment.declared_value * 100), 0), Integer)
    keys = {
        "day": day,
        "program_id": func.coalesce(Shipment.program_id, 0),
        "organisation_id": Shipment.organisation_id,
        "county_code": func.coalesce(func.substr(division, 1, 6), ""),
        "township_code": case((func.length(division) == 9, division), else_=""),
        "station_id": func.coalesce(st.id, 0),
        "carrier": Shipment.carrier,
        "status": type_coerce(Shipment.status, Shipment.carrier.type),
        "direction": type_coerce(Shipment.direction, Shipment.carrier.type),
        "channel": type_coerce(Shipment.channel, Shipment.carrier.type),
        "province_code": func.coalesce(Shipment.destination_province_code, ""),
        "taken": taken_expr(type_coerce(Shipment.status, Shipment.carrier.type)),
    }
    return keys, fen, st, st.id == local_station


# The rows volumes count (the triggers' condition in migration 0006_trust).
COUNTED = Shipment.status != ShipmentStatus.CANCELLED


def _raw_where(keys: dict, filters: ReportFilters) -> list:
    """Conditions on raw rows; indexed columns are used directly where they can be."""
    conds = [COUNTED]
    if filters.date_from is not None:
        conds.append(Shipment.registered_at >= day_start(filters.date_from))
    if filters.date_to is not None:
        conds.append(Shipment.registered_at < day_start(filters.date_to + timedelta(days=1)))
    direct = {"program_id": Shipment.program_id, "carrier": Shipment.carrier, "status": Shipment.status,
              "direction": Shipment.direction, "channel": Shipment.channel,
              "organisation_id": Shipment.organisation_id, "province": Shipment.destination_province_code}
    for name, column in _FILTER_COLUMNS.items():
        value = getattr(filters, name)
        if value is None:
            continue
        if name == "taken":
            conds.append(keys["taken"] if value else ~keys["taken"])
            continue
        conds.append(direct[name] == value if name in direct else keys[column] == value)
    return conds


def _raw_select(session: Session, columns: list, filters: ReportFilters):
    pg = _is_pg(session)
    keys, fen, st, on = _raw_keys(pg)
    stmt = select(*columns(keys, fen)).select_from(Shipment).outerjoin(st, on)
    return stmt.where(*_raw_where(keys, filters))


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


def _yuan(fen) -> Decimal:
    return (Decimal(int(fen or 0)) / 100).quantize(Decimal("0.01"))


def _percent(part, whole) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def _hours(pg: bool, start, end):
    if pg:
        return extract("epoch", end - start) / 3600.0
    return (func.julianday(end) - func.julianday(start)) * 24.0


# --- Drill-down and caller ---------------------------------------------------

def matching_shipments(session: Session, filters: ReportFilters) -> Select:
    """Select the shipments behind a report figure (same keys and filters as the reports)."""
    pg = _is_pg(session)
    keys, fen, st, on = _raw_keys(pg)
    return (select(Shipment).select_from(Shipment).outerjoin(st, on).where(*_raw_where(keys, filters))
            .order_by(Shipment.registered_at.desc(), Shipment.id.desc()))


def filters_for(caller, values: dict) -> ReportFilters:
    """Report filters from query values; a member's figures are limited to their own organisation."""
    names = {f for f in ReportFilters.__dataclass_fields__ if f != "organisation_id"}
    filters = ReportFilters(**{k: v for k, v in values.items() if k in names and v is not None})
    if not caller.sees_everything:
        filters = replace(filters, organisation_id=caller.organisation_id)
    county = getattr(caller, "county_code", None)
    if county:
        # Limited to one county: another county's figures are simply empty.
        asked_other = filters.county not in (None, county)
        filters = replace(filters, county=county, township="-" if asked_other else filters.township)
    return filters
