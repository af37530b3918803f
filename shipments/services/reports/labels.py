"""Display names for report keys (programs, divisions, stations, provinces, carriers, enum words)."""
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrations.carriers import CARRIERS

from shipments.models import Division, Program, Province, Station
from shipments.services.reports.quality import QualityRow
from shipments.services.reports.volumes import VolumeReport


STATUS_LABELS = {
    "pending": ("待查询", "Pending"), "info_received": ("已下单", "Info received"),
    "in_transit": ("运输中", "In transit"), "out_for_delivery": ("派件中", "Out for delivery"),
    "available_for_pickup": ("待取件", "Awaiting pickup"), "attempt_fail": ("投递失败", "Attempt failed"),
    "delivered": ("已签收", "Delivered"), "exception": ("异常", "Exception"), "returning": ("退回中", "Returning"),
    "returned": ("已退回", "Returned"), "expired": ("已过期", "Expired"),
    "cancelled": ("已取消", "Cancelled"),
}
DIRECTION_LABELS = {"outbound": ("出村", "Outbound"), "inbound": ("进村", "Inbound")}
CHANNEL_LABELS = {
    "douyin": ("抖音", "Douyin"), "kuaishou": ("快手", "Kuaishou"), "taobao": ("淘宝", "Taobao"),
    "pinduoduo": ("拼多多", "Pinduoduo"), "wechat": ("微信", "WeChat"), "offline": ("线下", "Offline"),
    "other": ("其他", "Other"),
}
UNKNOWN = ("未知", "Unknown")


def _division_names(session: Session, lang: str = "zh") -> dict[str, str]:
    column = Division.name if lang == "zh" else Division.name_en
    return dict(session.execute(select(Division.code, column)).all())


def _carrier_names(lang: str) -> dict[str, str]:
    # integrations/carriers.py is the one home of carrier names.
    return {code: c.name_zh if lang == "zh" else c.name_en for code, c in CARRIERS.items()}


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
    elif grouping == "carrier":
        names = _carrier_names(lang)
    else:
        table = {"status": STATUS_LABELS, "direction": DIRECTION_LABELS, "channel": CHANNEL_LABELS}[grouping]
        names = {k: v[0 if zh else 1] for k, v in table.items()}
    unknown = UNKNOWN[0 if zh else 1]
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
