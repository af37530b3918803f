"""Reports as tables an official can hand on: CSV and XLSX with title, units and a totals row."""
import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from shipments import labels
from shipments.services import reports

WORDS = {
    "period": ("统计期", "Period"), "shipments": ("票数（票）", "Shipments"), "pieces": ("件数（件）", "Pieces"),
    "value": ("申报价值（元）", "Declared value (CNY)"), "total": ("合计", "Total"),
    "program": ("寄递项目", "Program"), "county": ("区县", "County"), "township": ("乡镇（街道）", "Township"),
    "station": ("村级站点", "Village station"), "carrier": ("快递企业", "Carrier"), "status": ("状态", "Status"),
    "direction": ("方向", "Direction"), "channel": ("销售渠道", "Sales channel"),
    "province": ("目的省份", "Destination province"),
    "day": ("日", "day"), "week": ("周", "week"), "month": ("月", "month"), "season": ("季", "season"),
}
PERIOD_NAMES = {"day": ("按日", "by day"), "week": ("按周", "by week"), "month": ("按月", "by month"),
                "season": ("按季", "by season")}


def word(key: str, lang: str) -> str:
    return WORDS[key][0 if lang == "zh" else 1]


@dataclass
class Table:
    title: str
    note: str  # units and definitions, under the title
    headers: list[str]
    rows: list[list]
    totals: list | None = None
    filename: str = "report"
    generated_at: datetime = field(default_factory=lambda: datetime.now(reports.BEIJING))


def volume_headers(report: reports.VolumeReport, lang: str = "zh") -> list[str]:
    """Column headers of a volume report in the UI language."""
    return [word("period", lang), *(word(g, lang) for g in report.group_by),
            word("shipments", lang), word("pieces", lang), word("value", lang)]


def volume_table(report: reports.VolumeReport, lang: str = "zh", filter_note: str | None = None) -> Table:
    """A labelled volume report as an export table."""
    zh = lang == "zh"
    groups = "、".join(word(g, lang) for g in report.group_by) if zh else ", ".join(word(g, lang) for g in report.group_by)
    title = (f"寄递量统计（{PERIOD_NAMES[report.period][0]}{'，按' + groups if groups else ''}）" if zh else
             f"Shipment volumes {PERIOD_NAMES[report.period][1]}{', by ' + groups if groups else ''}")
    note = _filter_note(filter_note or report.filters, lang) + ("；单位：票、件、元；时间为北京时间" if zh else
                                                  "; units: shipments, pieces, yuan (CNY); Beijing time")
    rows = [[r.period, *r.labels, r.shipments, r.pieces, r.value] for r in report.rows]
    t = report.totals
    totals = [word("total", lang), *[""] * len(report.group_by), t["shipments"], t["pieces"], t["value"]]
    return Table(title, note, volume_headers(report, lang), rows, totals, f"volumes-{report.period}")


def progress_table(items: list[reports.Progress], lang: str = "zh") -> Table:
    """Program progress cards as an export table."""
    zh = lang == "zh"
    headers = (["寄递项目", "档次", "目标（件）", "季节", "已过天数", "按进度目标（件）", "累计完成（件）", "完成进度（%）",
                "预计全期（件）", "预计完成率（%）", "预警"] if zh else
               ["Program", "Tier", "Target (pieces)", "Season", "Days elapsed", "Prorated target (pieces)",
                "Pieces to date", "Of prorated (%)", "Projected (pieces)", "Projected of target (%)", "Flag"])
    rows = [[p.program.name if zh else p.program.name_en, labels.label(p.tier, "tier", lang), p.target,
             f"{p.season_start:%Y-%m-%d}~{p.season_end:%Y-%m-%d}", f"{p.elapsed_days}/{p.season_days}",
             p.prorated_target, p.pieces, p.percent_of_prorated, p.projected_pieces, p.projected_percent,
             ("低于60%" if zh else "below 60%") if p.flagged else ""] for p in items]
    totals = [word("total", lang), "", sum(p.target for p in items), "", "", sum(p.prorated_target for p in items),
              sum(p.pieces for p in items), "", "", "", ""]
    as_of = items[0].as_of if items else reports.beijing_today()
    title = f"寄递项目进度（截至 {as_of:%Y-%m-%d}）" if zh else f"Program progress as of {as_of:%Y-%m-%d}"
    note = ("按进度目标 = 目标 × 季节内已过天数 / 季节天数；完成 = 季节内登记的件数（不论状态）；低于按进度目标60%预警；"
            "单位：件" if zh else
            "Prorated target = target × elapsed season days / season days; done = pieces registered in the season "
            "(any status); flagged below 60 %; unit: pieces")
    scales = {p.program.target_scale for p in items if p.program.target_scale > 1}
    if scales:
        note += (f"；演示数据：目标按 1:{max(scales)} 缩放，件数为实际统计" if zh else
                 f"; demo data: targets scaled 1:{max(scales)}, pieces counted as they are")
    return Table(title, note, headers, rows, totals, "progress")


def shortfall_table(progress: reports.Progress, lang: str = "zh") -> Table:
    """One program's shortfall by county and township."""
    zh = lang == "zh"
    headers = (["层级", "区县/乡镇", "累计完成（件）", "按进度目标（件）", "完成进度（%）", "预警"] if zh else
               ["Level", "County/township", "Pieces to date", "Prorated target (pieces)", "Of prorated (%)", "Flag"])
    rows = []
    for level, items in ((word("county", lang), progress.counties), (word("township", lang), progress.townships)):
        rows += [[level, s.name, s.pieces, s.prorated_target, s.percent,
                  ("低于60%" if zh else "below 60%") if s.flagged else ""] for s in items]
    name = progress.program.name if zh else progress.program.name_en
    title = f"{name} 分区县、乡镇进度" if zh else f"{name}: shortfall by county and township"
    note = ("乡镇目标按各乡镇村级站点数分摊；单位：件" if zh else
            "Township targets are shared by village stations; unit: pieces")
    return Table(title, note, headers, rows, None, f"shortfall-{progress.program.id}")


def quality_table(rows: list[reports.QualityRow], lang: str = "zh",
                  filters: "reports.ReportFilters | str | None" = None) -> Table:
    """Delivery quality per program × carrier × destination province."""
    zh = lang == "zh"
    headers = (["寄递项目", "快递企业", "目的省份", "票数（票）", "24小时揽收（票）", "揽收率（%）", "未揽收（票）",
                "次日递达（票）", "次日未达（票）", "次日递率（%）", "运输时长中位数（小时）", "运输时长P90（小时）",
                "异常率（%）", "退回率（%）"] if zh else
               ["Program", "Carrier", "Destination province", "Shipments", "Picked up within 24 h", "Pickup rate (%)",
                "No pickup scan", "Next-day on time", "Next-day late", "Next-day rate (%)", "Transit p50 (h)",
                "Transit p90 (h)", "Exception rate (%)", "Return rate (%)"])
    body = [[*r.labels, r.shipments, r.picked_within_24h, r.pickup_rate, r.no_pickup, r.next_day_on_time,
             r.next_day_late, r.next_day_rate, r.transit_p50_hours, r.transit_p90_hours, r.exception_rate,
             r.return_rate] for r in rows]
    n = sum(r.shipments for r in rows)
    picked = sum(r.picked_within_24h for r in rows)
    on_time, late = sum(r.next_day_on_time for r in rows), sum(r.next_day_late for r in rows)
    totals = [word("total", lang), "", "", n, picked, reports._percent(picked, n), sum(r.no_pickup for r in rows),
              on_time, late, reports._percent(on_time, on_time + late), "", "",
              reports._percent(sum(r.exceptions for r in rows), n), reports._percent(sum(r.returns for r in rows), n)]
    title = "寄递服务质量（项目×快递企业×目的省份）" if zh else "Delivery quality by program × carrier × province"
    note = _filter_note(filters, lang) + ("；" if zh else "; ") + ("揽收率=登记后24小时内揽收/票数；次日递率=揽收次日24时前签收或到站/（按时+逾期），揽收当日不计，"
            "未揽收单列；单位：票、%、小时；时间为北京时间" if zh else
            "Pickup rate = picked up within 24 h of registration / shipments; next-day rate = delivered or at a "
            "station before the end of the day after pickup (pickup day excluded) / (on time + late); "
            "no-pickup shipments counted apart; units: waybills, %, hours; Beijing time")
    return Table(title, note, headers, body, totals, "quality")


def late_table(rows, lang: str = "zh", filters: "reports.ReportFilters | str | None" = None) -> Table:
    """Perishables past their program's deadline (no recipient data)."""
    zh = lang == "zh"
    headers = (["快递企业", "运单号", "寄递项目", "状态", "登记时间", "揽收时间", "签收时间", "历时（小时）", "时限（小时）"]
               if zh else ["Carrier", "Tracking number", "Program", "Status", "Registered", "Picked up",
                           "Delivered", "Hours taken", "Deadline (h)"])
    body = [[labels.carrier_name(s.carrier, lang), s.tracking_number, (s.program.name if zh else s.program.name_en),
             labels.label(s.status, "status", lang),
             _bj(s.registered_at), _bj(s.picked_up_at), _bj(s.delivered_at), round(float(hours), 1),
             s.program.deadline_hours] for s, hours in rows]
    title = "生鲜超时件清单" if zh else "Perishables past their deadline"
    note = _filter_note(filters, lang) + ("；历时自揽收（无揽收扫描时自登记）起至签收、退回或当前；单位：小时；时间为北京时间"
                                          if zh else "; hours from pickup (registration when no pickup scan) to "
                                          "delivery, return or now; unit: hours; Beijing time")
    totals = [word("total", lang), len(body), "", "", "", "", "", "", ""]
    return Table(title, note, headers, body, totals, "late-perishables")


def shipments_table(rows, lang: str = "zh", filters: "reports.ReportFilters | str | None" = None) -> Table:
    """The shipments behind a figure (no recipient data), with their count and pieces totalled."""
    zh = lang == "zh"
    headers = (["运单号", "快递企业", "寄递项目", "状态", "件数（件）", "登记时间", "揽收时间", "签收时间"] if zh else
               ["Tracking number", "Carrier", "Program", "Status", "Pieces", "Registered", "Picked up", "Delivered"])
    body = [[s.tracking_number, labels.carrier_name(s.carrier, lang),
             (s.program.name if zh else s.program.name_en) if s.program else reports.NO_PROGRAM[0 if zh else 1],
             labels.label(s.status, "status", lang), s.pieces, _bj(s.registered_at), _bj(s.picked_up_at),
             _bj(s.delivered_at)] for s in rows]
    totals = [word("total", lang), f"{len(body)} 票" if zh else f"{len(body)} waybills", "", "",
              sum(s.pieces for s in rows), "", "", ""]
    title = "图表背后的运单" if zh else "Shipments behind the figure"
    note = _filter_note(filters, lang) + ("；单位：票、件；时间为北京时间；不含收件人信息" if zh else
                                          "; units: waybills, pieces; Beijing time; no recipient data")
    return Table(title, note, headers, body, totals, "shipments")


def seller_table(batches, group_names: dict[str, str], lang: str = "zh") -> Table:
    """A seller's livestream sessions, parcel by parcel, with the count per group as totals."""
    zh = lang == "zh"
    headers = (["直播场次", "运单号", "快递企业", "订单号", "分组", "状态", "超时", "超时未揽收", "登记时间",
                "最新动态时间"] if zh else
               ["Livestream session", "Tracking number", "Carrier", "Order number", "Group", "Status", "Late",
                "Pickup overdue", "Registered", "Last event"])
    yes = "是" if zh else "yes"
    body = []
    for batch in batches:
        for row in batch.rows:
            s = row.shipment
            body.append([batch.label or ("（未分场次）" if zh else "(no session)"), s.tracking_number,
                         labels.carrier_name(s.carrier, lang), s.order_ref or "", group_names[row.group],
                         labels.label(s.status, "status", lang), yes if row.late else "",
                         yes if row.pickup_overdue else "", _bj(s.registered_at), _bj(s.last_event_at)])
    late = sum(1 for b in batches for r in b.rows if r.late)
    overdue = sum(1 for b in batches for r in b.rows if r.pickup_overdue)
    totals = [word("total", lang), f"{len(body)} 票" if zh else f"{len(body)} waybills", "", "", "", "", late,
              overdue, "", ""]
    names = "、".join(b.label or "—" for b in batches) if zh else ", ".join(b.label or "—" for b in batches)
    title = f"直播场次包裹：{names}" if zh else f"Livestream parcels: {names}"
    note = ("单位：票；时间为北京时间；合计行的“超时”“超时未揽收”为票数" if zh else
            "Unit: waybills; Beijing time; the totals row counts late and pickup-overdue waybills")
    return Table(title, note, headers, body, totals, "seller-parcels")


def network_table(network: reports.NetworkReport, lang: str = "zh",
                  filters: "reports.ReportFilters | str | None" = None) -> Table:
    """Inbound vs outbound per township, with coverage in the note."""
    zh = lang == "zh"
    headers = (["乡镇（街道）", "进村（票）", "出村（票）", "进村（件）", "出村（件）"] if zh else
               ["Township", "Inbound (shipments)", "Outbound (shipments)", "Inbound (pieces)", "Outbound (pieces)"])
    body = [[t["name"], t["inbound"], t["outbound"], t["inbound_pieces"], t["outbound_pieces"]]
            for t in network.townships]
    totals = [word("total", lang), *(sum(t[k] for t in network.townships)
                                     for k in ("inbound", "outbound", "inbound_pieces", "outbound_pieces"))]
    coverage = network.coverage if network.coverage is not None else "-"
    title = "村级寄递网络（进出村）" if zh else "Village network: inbound vs outbound"
    note = _filter_note(filters, lang) + ("；" if zh else "; ") + (f"村级站点覆盖率 {coverage}%（{network.active_village_stations}/{network.village_stations}）；"
            f"14天无寄递站点 {len(network.silent_stations)} 个" if zh else
            f"Village-station coverage {coverage} % ({network.active_village_stations}/{network.village_stations}); "
            f"{len(network.silent_stations)} station(s) silent for 14 days")
    note += "；单位：票、件" if zh else "; units: waybills, pieces"
    return Table(title, note, headers, body, totals, "network")


def _bj(moment):
    return moment.astimezone(reports.BEIJING).strftime("%Y-%m-%d %H:%M") if moment else ""


def _filter_note(filters, lang: str) -> str:
    """The filters as words: a note made with names (reports.describe_filters), or the dates alone."""
    if isinstance(filters, str):
        return filters
    return reports.describe_filters(None, filters or reports.ReportFilters(), lang)


# OWASP CSV injection: text starting with these is run as a formula by spreadsheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(value):
    """A CSV cell value a spreadsheet shows as text: formula-like text gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def as_text_cells(sheet, values: list) -> list:
    """Row values for an openpyxl sheet with formula-like text stored as text, never as a formula."""
    from openpyxl.cell import WriteOnlyCell

    out = []
    for value in values:
        if isinstance(value, str) and value.startswith(FORMULA_STARTS):
            cell = WriteOnlyCell(sheet, value)
            cell.data_type = "s"  # openpyxl makes any "=…" a formula otherwise
            value = cell
        out.append(value)
    return out


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return inert(value)


def to_csv(table: Table) -> bytes:
    """CSV in UTF-8 with a BOM (Excel opens Chinese text correctly), title and totals rows included."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([inert(table.title)])
    writer.writerow([inert(table.note)])
    writer.writerow([inert(h) for h in table.headers])
    for row in table.rows:
        writer.writerow([_cell(v) for v in row])
    if table.totals:
        writer.writerow([_cell(v) for v in table.totals])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(table: Table) -> bytes:
    """An XLSX workbook: bold title, note, header row, data with number formats, bold totals row."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = table.filename[:31]
    sheet.append([table.title])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([table.note])
    sheet.append(table.headers)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
    for row in table.rows:
        sheet.append([_xlsx_value(v) for v in row])
    if table.totals:
        sheet.append([_xlsx_value(v) for v in table.totals])
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":  # every value here is data: formula-like text stays text
                cell.data_type = "s"
            elif isinstance(cell.value, Decimal):
                cell.number_format = "#,##0.00"
            elif isinstance(cell.value, int) and not isinstance(cell.value, bool):
                cell.number_format = "#,##0"
            elif isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    for index, header in enumerate(table.headers, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(10, min(40, len(header) * 2 + 2))
    sheet.freeze_panes = "A4"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_value(value):
    if value is None:
        return None
    return value


def render(table: Table, fmt: str) -> tuple[bytes, str, str]:
    """Return (body, mimetype, filename) for fmt 'csv' or 'xlsx'."""
    if fmt == "csv":
        return to_csv(table), "text/csv; charset=utf-8", f"{table.filename}.csv"
    return (to_xlsx(table), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            f"{table.filename}.xlsx")
