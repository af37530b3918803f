"""Display names for report keys (programs, divisions, stations, provinces, carriers, enum words)."""
from flask_babel import lazy_gettext as _l, lazy_pgettext as _x
from sqlalchemy import select
from sqlalchemy.orm import Session

from shipments import labels
from shipments.models import Division, Program, Province, Station
from shipments.services.reports.common import ReportFilters
from shipments.services.reports.quality import QualityRow
from shipments.services.reports.volumes import VolumeReport


UNKNOWN = labels.UNKNOWN
NO_PROGRAM = _x("report", "No program")  # a report row (无项目); the form choice "No program" reads 不属于项目
# One clause per filter a report may have (Flask-Babel messages).
FILTER_CLAUSES = {
    "program_id": _l("program: %(name)s"), "county": _l("county: %(name)s"), "township": _l("township: %(name)s"),
    "station_id": _l("station: %(name)s"), "province": _l("destination province: %(name)s"),
    "carrier": _l("carrier: %(name)s"), "status": _l("status: %(name)s"), "direction": _l("direction: %(name)s"),
    "channel": _l("sales channel: %(name)s"),
}


def _division_names(session: Session, lang: str = "zh") -> dict[str, str]:
    column = Division.name if lang == "zh" else Division.name_en
    return dict(session.execute(select(Division.code, column)).all())


def dimension_labels(session: Session, grouping: str, keys, lang: str = "zh") -> dict:
    """Display names for the keys of one grouping."""
    zh = lang == "zh"
    keys = set(keys)
    if grouping == "program":
        rows = session.execute(select(Program.id, Program.name if zh else Program.name_en)
                               .where(Program.id.in_(keys))).all()
        names = dict(rows)
    elif grouping in ("county", "township"):
        names = _division_names(session, lang)
    elif grouping == "station":
        names = dict(session.execute(select(Station.id, Station.name).where(Station.id.in_(keys))).all())
    elif grouping == "province":
        names = dict(session.execute(select(Province.code, Province.name if zh else Province.name_en)).all())
    else:  # carrier, status, direction, channel: the one label function (shipments/labels.py)
        names = {k: labels.label(k, grouping, lang) for k in keys if k not in ("", None)}
    unknown = labels.text(NO_PROGRAM if grouping == "program" else UNKNOWN, lang)
    return {k: names.get(k, unknown if k in ("", 0, None) else str(k)) for k in keys}


def label_report(session: Session, report: VolumeReport, lang: str = "zh") -> VolumeReport:
    """Fill each row's labels (display names of its keys)."""
    lookups = [dimension_labels(session, g, {r.keys[i] for r in report.rows}, lang)
               for i, g in enumerate(report.group_by)]
    for row in report.rows:
        row.labels = tuple(lookups[i][k] for i, k in enumerate(row.keys))
    return report


def label_quality(session: Session, rows: list[QualityRow], lang: str = "zh", by_province: bool = True,
                  by_program: bool = True) -> list[QualityRow]:
    """Fill each quality row's labels, one per key of the report: program, carrier, province (as asked)."""
    programs = dimension_labels(session, "program", {r.program_id for r in rows}, lang) if by_program else {}
    carriers = dimension_labels(session, "carrier", {r.carrier for r in rows}, lang)
    provinces = (dimension_labels(session, "province", {r.province_code or "" for r in rows}, lang)
                 if by_province else {})
    for row in rows:
        row.labels = ((programs[row.program_id],) if by_program else ()) + (carriers[row.carrier],) + (
            (provinces[row.province_code or ""],) if by_province else ())
    return rows


def describe_filters(session: Session | None, filters: ReportFilters, lang: str = "zh") -> str:
    """The filters of a report in words, names not codes (for an export's note and the page above it)."""
    start = filters.date_from.isoformat() if filters.date_from else labels.text(_l("start"), lang)
    end = filters.date_to.isoformat() if filters.date_to else labels.text(_l("today"), lang)
    parts = [labels.text(_l("Registered %(start)s to %(end)s"), lang, start=start, end=end)]
    grouping = {"program_id": "program", "station_id": "station"}
    for key, clause in FILTER_CLAUSES.items():
        value = getattr(filters, key, None)
        if value in (None, ""):
            continue
        group = grouping.get(key, key)
        if session is None and group in ("program", "county", "township", "station", "province"):
            name = str(value)
        else:
            name = dimension_labels(session, group, {value}, lang)[value]
        parts.append(labels.text(clause, lang, name=name))
    if filters.taken is not None:
        parts.append(labels.text(_l("taken by the carrier (done)") if filters.taken else
                                 _l("not taken by the carrier"), lang))
    return labels.join(parts, lang, clauses=True)
