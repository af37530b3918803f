"""Network: village-station coverage, silent stations, inbound vs outbound per township."""
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shipments.models import Station
from shipments.models.enums import StationLevel
from shipments.services.reports.common import ReportFilters, _percent, beijing_today
from shipments.services.reports.labels import _division_names
from shipments.services.reports.volumes import volume_report

SILENT_DAYS = 14


@dataclass
class NetworkReport:
    village_stations: int
    active_village_stations: int
    silent_stations: list[Station]
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
    villages = select(Station).where(Station.level == StationLevel.VILLAGE)
    if filters.county:
        villages = villages.where(func.substr(Station.division_code, 1, 6) == filters.county)
    if filters.township:
        villages = villages.where(Station.division_code == filters.township)
    stations = session.scalars(villages.order_by(Station.division_code, Station.name)).all()
    village_ids = {s.id for s in stations}
    active = {r.keys[0] for r in volume_report(session, "month", ("station",), replace(
        filters, station_id=None)).rows if r.keys[0] in village_ids}
    recent = replace(filters, date_from=as_of - timedelta(days=SILENT_DAYS - 1), date_to=as_of, station_id=None)
    recent_ids = {r.keys[0] for r in volume_report(session, "month", ("station",), recent).rows}
    silent = [s for s in stations if s.id not in recent_ids]
    by_township: dict[str, dict] = {}
    for row in volume_report(session, "season", ("township", "direction"), filters).rows:
        entry = by_township.setdefault(row.keys[0], {"code": row.keys[0], "inbound": 0, "outbound": 0,
                                                     "inbound_pieces": 0, "outbound_pieces": 0})
        entry[row.keys[1]] += row.shipments
        entry[f"{row.keys[1]}_pieces"] += row.pieces
    names = _division_names(session)
    townships = []
    for code in sorted(by_township):
        entry = by_township[code]
        entry["name"] = names.get(code, code or "未知乡镇")
        townships.append(entry)
    return NetworkReport(len(stations), len(active), silent, townships, as_of)
