"""Display names for report keys (programs, divisions, stations, provinces, carriers, enum words)."""
from sqlalchemy import select
from sqlalchemy.orm import Session

from shipments import labels
from shipments.models import Division, Program, Province, Station
from shipments.services.reports.common import ReportFilters
from shipments.services.reports.quality import QualityRow
from shipments.services.reports.volumes import VolumeReport


UNKNOWN = ("未知", "Unknown")
NO_PROGRAM = ("无项目", "No program")


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
    unknown = (NO_PROGRAM if grouping == "program" else UNKNOWN)[0 if zh else 1]
    return {k: names.get(k, unknown if k in ("", 0, None) else str(k)) for k in keys}


def label_report(session: Session, report: VolumeReport, lang: str = "zh") -> VolumeReport:
    """Fill each row's labels (display names of its keys)."""
    lookups = [dimension_labels(session, g, {r.keys[i] for r in report.rows}, lang)
               for i, g in enumerate(report.group_by)]
    for row in report.rows:
        row.labels = tuple(lookups[i][k] for i, k in enumerate(row.keys))
    return report


def label_quality(session: Session, rows: list[QualityRow], lang: str = "zh") -> list[QualityRow]:
    """Fill each quality row's labels (program, carrier, province)."""
    programs = dimension_labels(session, "program", {r.program_id for r in rows}, lang)
    carriers = dimension_labels(session, "carrier", {r.carrier for r in rows}, lang)
    provinces = dimension_labels(session, "province", {r.province_code or "" for r in rows}, lang)
    for row in rows:
        row.labels = (programs[row.program_id], carriers[row.carrier], provinces[row.province_code or ""])
    return rows


def describe_filters(session: Session | None, filters: ReportFilters, lang: str = "zh") -> str:
    """The filters of a report in words, names not codes (for an export's note and the page above it)."""
    zh = lang == "zh"
    start = filters.date_from.isoformat() if filters.date_from else ("最早" if zh else "start")
    end = filters.date_to.isoformat() if filters.date_to else ("至今" if zh else "today")
    parts = [f"登记日期：{start} ~ {end}" if zh else f"Registered {start} to {end}"]
    words = {"program_id": ("项目", "program"), "county": ("区县", "county"), "township": ("乡镇", "township"),
             "station_id": ("站点", "station"), "province": ("目的省份", "destination province"),
             "carrier": ("快递企业", "carrier"), "status": ("状态", "status"), "direction": ("方向", "direction"),
             "channel": ("销售渠道", "sales channel")}
    grouping = {"program_id": "program", "station_id": "station"}
    for key, (word_zh, word_en) in words.items():
        value = getattr(filters, key, None)
        if value in (None, ""):
            continue
        group = grouping.get(key, key)
        if session is None and group in ("program", "county", "township", "station", "province"):
            name = str(value)
        else:
            name = dimension_labels(session, group, {value}, lang)[value]
        parts.append(f"{word_zh}：{name}" if zh else f"{word_en}: {name}")
    if filters.taken is not None:
        parts.append(("已被快递揽收（完成）" if zh else "taken by the carrier (done)") if filters.taken
                     else ("未被快递揽收" if zh else "not taken by the carrier"))
    return ("；" if zh else "; ").join(parts)
