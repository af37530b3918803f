"""A shipment's delivery-quality key and counts, recounted from the shipments rows.

The same rules as migration 0007_scale's triggers, which keep
report_quality_days/_months exact (rebuild and reconcile use this). Raw SQL:
one text per dialect mirrors the trigger's text exactly, which SQLAlchemy
expressions would only approximate (floor vs CAST, LEAST vs CASE).
"""
from sqlalchemy import Date, Integer, String, column, text
from sqlalchemy.sql.elements import TextClause

from shipments.models.reports import HOURS_NONE, NO_PICKUP_DAY, QUALITY_KEYS, QUALITY_MEASURES


def _bucket(h: str, pg: bool) -> str:
    floor = (lambda x: f"floor({x})") if pg else (lambda x: f"CAST({x} AS INTEGER)")
    return (f"CASE WHEN {h} < 0 THEN 0 WHEN {h} < 96 THEN {floor(f'{h} / 2')} * 2 "
            f"WHEN {h} < 168 THEN 96 + {floor(f'({h} - 96) / 12')} * 12 "
            f"WHEN {h} < 336 THEN 168 + {floor(f'({h} - 168) / 24')} * 24 ELSE 336 END")


def quality_key_sql(pg: bool) -> str:
    """SELECT list (key, then counts) of the quality rollup over a row source `r`."""
    if pg:
        day = "(r.registered_at AT TIME ZONE 'Asia/Shanghai')::date"
        arrival = "LEAST(r.first_station_at, r.delivered_at)"
        in_time = (f"{arrival} < (((r.picked_up_at AT TIME ZONE 'Asia/Shanghai')::date + 2)::timestamp "
                   "AT TIME ZONE 'Asia/Shanghai')")
        transit = "(extract(epoch FROM r.delivered_at - r.picked_up_at) / 3600.0)"
        within_24h = "extract(epoch FROM r.picked_up_at - r.registered_at) / 3600.0 <= 24"
        pickup_day = "(r.picked_up_at AT TIME ZONE 'Asia/Shanghai')::date"
        none_day = f"DATE '{NO_PICKUP_DAY.isoformat()}'"
        hours = f"CAST({_bucket(transit, pg)} AS integer)"
    else:
        day = "date(r.registered_at, '+8 hours')"
        arrival = ("(CASE WHEN r.first_station_at IS NULL THEN r.delivered_at WHEN r.delivered_at IS NULL "
                   "THEN r.first_station_at WHEN julianday(r.first_station_at) < julianday(r.delivered_at) "
                   "THEN r.first_station_at ELSE r.delivered_at END)")
        in_time = f"julianday({arrival}) < julianday(date(r.picked_up_at, '+8 hours', '+2 days')) - 8 / 24.0"
        transit = "((julianday(r.delivered_at) - julianday(r.picked_up_at)) * 24.0)"
        within_24h = "(julianday(r.picked_up_at) - julianday(r.registered_at)) * 24.0 <= 24"
        pickup_day = "date(r.picked_up_at, '+8 hours')"
        none_day = f"'{NO_PICKUP_DAY.isoformat()}'"
        hours = _bucket(transit, pg)
    picked = "r.picked_up_at IS NOT NULL"

    def count_if(cond: str) -> str:
        return f"sum(CASE WHEN {cond} THEN 1 ELSE 0 END)"

    return ", ".join([
        f"{day} AS day", "COALESCE(r.program_id, 0) AS program_id", "r.carrier AS carrier",
        "COALESCE(r.destination_province_code, '') AS province_code",
        f"CASE WHEN {picked} AND r.delivered_at IS NOT NULL THEN {hours} ELSE {HOURS_NONE} END AS hours",
        f"CASE WHEN {picked} AND {arrival} IS NULL THEN {pickup_day} ELSE {none_day} END AS pickup_day",
        "count(*) AS shipments",
        count_if(f"{picked} AND {within_24h}") + " AS picked_24h",
        count_if("r.picked_up_at IS NULL") + " AS no_pickup",
        count_if(f"{picked} AND {arrival} IS NOT NULL AND {in_time}") + " AS on_time",
        count_if(f"{picked} AND {arrival} IS NOT NULL AND NOT ({in_time})") + " AS late",
        count_if(f"{picked} AND {arrival} IS NULL") + " AS unarrived",
        count_if("r.status = 'exception'") + " AS exceptions",
        count_if("r.status IN ('returning', 'returned')") + " AS returns",
    ])


def quality_raw_select(pg: bool, where: str = "r.status <> 'cancelled'") -> TextClause:
    """Quality buckets recounted from the shipments rows (cancelled registrations are not counted)."""
    types = {"day": Date, "program_id": Integer, "carrier": String, "province_code": String, "hours": Integer,
             "pickup_day": Date}
    sql = (f"SELECT {quality_key_sql(pg)} FROM shipments r {('WHERE ' + where) if where else ''} "
           f"GROUP BY 1, 2, 3, 4, 5, 6")
    return text(sql).columns(*(column(k, types[k]) for k in QUALITY_KEYS),
                             *(column(m, Integer) for m in QUALITY_MEASURES))
