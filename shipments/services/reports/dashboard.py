"""The officials' dashboard: every figure of the page in one call."""
from dataclasses import replace
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from shipments.models import Program
from shipments.services.reports.common import BEIJING, ReportFilters, day_start
from shipments.services.reports.labels import _division_names, label_quality, label_report
from shipments.services.reports.network import network_report
from shipments.services.reports.progress import county_progress, programs_progress
from shipments.services.reports.quality import late_perishables, quality_report
from shipments.services.reports.volumes import volume_report


def dashboard_figures(session: Session, year: int, as_of: date, lang: str = "zh", program_id: int | None = None,
                      county: str | None = None) -> dict:
    """Every figure of the officials' dashboard for a program year, as of a Beijing day (optionally for
    one program, or the programs and parcels of one county)."""
    query = select(Program).where(Program.year == year)
    if program_id is not None:
        query = query.where(Program.id == program_id)
    if county is not None:
        query = query.where(Program.county_code == county)
    program_list = session.scalars(query.order_by(Program.target_pieces.desc(), Program.id)).all()
    progress = programs_progress(session, program_list, as_of)
    year_filters = ReportFilters(date_from=date(year, 1, 1), date_to=min(as_of, date(year, 12, 31)),
                                 program_id=program_id, county=county)
    monthly = label_report(session, volume_report(session, "month", ("program",), year_filters), lang)
    months = [date(year, m, 1) for m in range(1, 13)]
    by_program: dict[int, list[int]] = {p.id: [0] * 12 for p in program_list}
    for row in monthly.rows:
        if row.keys[0] in by_program and row.period.year == year:
            by_program[row.keys[0]][row.period.month - 1] += row.pieces
    zh = lang == "zh"
    series = [{"program_id": p.id, "name": p.name if zh else p.name_en, "data": by_program[p.id]}
              for p in program_list]
    names = _division_names(session, lang)
    map_names = _division_names(session, "zh")  # the map's feature names are Chinese
    counties = county_progress(session, year, as_of, progress)
    county_map = [{"code": code, "name": map_names.get(code, code),
                   "label": names.get(code, code), "value": float(e["percent"]) if e["percent"] is not None else None,
                   "pieces": e["pieces"], "prorated_target": e["prorated_target"]} for code, e in counties.items()]
    # Figures "as of" a past day are computed at the end of that day.
    now = min(datetime.now(BEIJING), day_start(as_of + timedelta(days=1)))
    # Per carrier (a row each): the page /dashboard/quality has them per program and per province.
    quality = label_quality(session, quality_report(session, year_filters, now, by_province=False, by_program=False),
                            lang, by_province=False, by_program=False)
    late = session.execute(late_perishables(session, year_filters, now, limit=20)).all()
    network = network_report(session, replace(year_filters, date_from=max(year_filters.date_from,
                                                                          as_of - timedelta(days=29))))
    return {"year": year, "as_of": as_of, "progress": progress, "months": [m.isoformat() for m in months],
            "series": series, "county_map": county_map, "quality": quality, "late": late, "network": network,
            "year_filters": year_filters}
