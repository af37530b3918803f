"""Reports as tables an official can hand on: CSV and XLSX with title, units and a totals row."""
import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


from flask_babel import lazy_gettext as _l, lazy_pgettext as _x

from shipments import labels
from shipments.services import reports

# Flask-Babel messages (English msgid, Chinese in messages.po), rendered in the export's language. Column
# words carry the context "export": an official's table says 票数（票）where a page says 运单.
WORDS = {
    "period": _x("export", "Period"), "shipments": _x("export", "Shipments"), "pieces": _x("export", "Pieces"),
    "value": _x("export", "Declared value (CNY)"), "total": _x("export", "Total"),
    "program": _x("export", "Program"), "county": _x("export", "County"), "township": _x("export", "Township"),
    "station": _x("export", "Village station"), "carrier": _x("export", "Carrier"), "status": _x("export", "Status"),
    "direction": _x("export", "Direction"), "channel": _x("export", "Sales channel"),
    "province": _x("export", "Destination province"),
}
PERIOD_NAMES = {"day": _l("by day"), "week": _l("by week"), "month": _l("by month"), "season": _l("by season")}
BELOW_60 = _l("below 60%")
WAYBILLS = _l("%(count)s waybills")


def word(key: str, lang: str | None) -> str:
    return labels.text(WORDS[key], lang)


def words(messages, lang: str | None) -> list[str]:
    return [labels.text(m, lang) for m in messages]


def _name(program, zh: bool) -> str:
    return program.name if zh else program.name_en


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
    period = labels.text(PERIOD_NAMES[report.period], lang)
    if report.group_by:
        groups = labels.join((word(g, lang) for g in report.group_by), lang)
        title = labels.text(_l("Shipment volumes %(period)s, by %(groups)s"), lang, period=period, groups=groups)
    else:
        title = labels.text(_l("Shipment volumes %(period)s"), lang, period=period)
    units = labels.text(_l("units: shipments, pieces, yuan (CNY); Beijing time"), lang)
    note = labels.join([_filter_note(filter_note or report.filters, lang), units], lang, clauses=True)
    rows = [[r.period, *r.labels, r.shipments, r.pieces, r.value] for r in report.rows]
    t = report.totals
    totals = [word("total", lang), *[""] * len(report.group_by), t["shipments"], t["pieces"], t["value"]]
    return Table(title, note, volume_headers(report, lang), rows, totals, f"volumes-{report.period}")


PROGRESS_HEADERS = (
    _x("export", "Program"), _x("export", "Tier"), _x("export", "Target (pieces)"), _x("export", "Season"),
    _x("export", "Days elapsed"), _x("export", "Prorated target (pieces)"), _x("export", "Pieces to date"),
    _x("export", "Of prorated (%)"), _x("export", "Projected (pieces)"), _x("export", "Projected of target (%)"),
    _x("export", "Flag"),
)


def progress_table(items: list[reports.Progress], lang: str = "zh") -> Table:
    """Program progress cards as an export table."""
    zh = labels.is_zh(lang)
    below = labels.text(BELOW_60, lang)
    rows = [[_name(p.program, zh), labels.label(p.tier, "tier", lang), p.target,
             f"{p.season_start:%Y-%m-%d}~{p.season_end:%Y-%m-%d}", f"{p.elapsed_days}/{p.season_days}",
             p.prorated_target, p.pieces, p.percent_of_prorated, p.projected_pieces, p.projected_percent,
             below if p.flagged else ""] for p in items]
    totals = [word("total", lang), "", sum(p.target for p in items), "", "", sum(p.prorated_target for p in items),
              sum(p.pieces for p in items), "", "", "", ""]
    as_of = items[0].as_of if items else reports.beijing_today()
    title = labels.text(_l("Program progress as of %(date)s"), lang, date=f"{as_of:%Y-%m-%d}")
    notes = [labels.text(_l("Prorated target = target × elapsed season days / season days; done = pieces registered "
                            "in the season (any status); flagged below 60 %; unit: pieces"), lang)]
    scales = {p.program.target_scale for p in items if p.program.target_scale > 1}
    if scales:
        notes.append(labels.text(_l("demo data: targets scaled 1:%(scale)s, pieces counted as they are"), lang,
                                 scale=max(scales)))
    return Table(title, labels.join(notes, lang, clauses=True), words(PROGRESS_HEADERS, lang), rows, totals,
                 "progress")


SHORTFALL_HEADERS = (_x("export", "Level"), _x("export", "County/township"), _x("export", "Pieces to date"),
                     _x("export", "Prorated target (pieces)"), _x("export", "Of prorated (%)"), _x("export", "Flag"))


def shortfall_table(progress: reports.Progress, lang: str = "zh") -> Table:
    """One program's shortfall by county and township."""
    below = labels.text(BELOW_60, lang)
    rows = []
    for level, items in ((word("county", lang), progress.counties), (word("township", lang), progress.townships)):
        rows += [[level, s.name, s.pieces, s.prorated_target, s.percent, below if s.flagged else ""] for s in items]
    name = _name(progress.program, labels.is_zh(lang))
    title = labels.text(_l("%(name)s: shortfall by county and township"), lang, name=name)
    note = labels.text(_l("Township targets are shared by village stations; unit: pieces"), lang)
    return Table(title, note, words(SHORTFALL_HEADERS, lang), rows, None, f"shortfall-{progress.program.id}")


QUALITY_HEADERS = (
    _x("export", "Program"), _x("export", "Carrier"), _x("export", "Destination province"), _x("export", "Shipments"),
    _x("export", "Picked up within 24 h"), _x("export", "Pickup rate (%)"), _x("export", "No pickup scan"),
    _x("export", "Next-day on time"), _x("export", "Next-day late"), _x("export", "Next-day rate (%)"),
    _x("export", "Transit p50 (h)"), _x("export", "Transit p90 (h)"), _x("export", "Exception rate (%)"),
    _x("export", "Return rate (%)"),
)


def quality_table(rows: list[reports.QualityRow], lang: str = "zh",
                  filters: "reports.ReportFilters | str | None" = None, by_province: bool = True) -> Table:
    """Delivery quality per program × carrier (× destination province: rows labelled by label_quality alike)."""
    body = [[*r.labels, r.shipments, r.picked_within_24h, r.pickup_rate, r.no_pickup, r.next_day_on_time,
             r.next_day_late, r.next_day_rate, r.transit_p50_hours, r.transit_p90_hours, r.exception_rate,
             r.return_rate] for r in rows]
    n = sum(r.shipments for r in rows)
    picked = sum(r.picked_within_24h for r in rows)
    on_time, late = sum(r.next_day_on_time for r in rows), sum(r.next_day_late for r in rows)
    keys = ["", ""] if by_province else [""]
    totals = [word("total", lang), *keys, n, picked, reports._percent(picked, n), sum(r.no_pickup for r in rows),
              on_time, late, reports._percent(on_time, on_time + late), "", "",
              reports._percent(sum(r.exceptions for r in rows), n), reports._percent(sum(r.returns for r in rows), n)]
    headers = words(QUALITY_HEADERS, lang)
    if by_province:
        title = labels.text(_l("Delivery quality by program × carrier × province"), lang)
    else:
        title = labels.text(_l("Delivery quality by program × carrier"), lang)
        del headers[2]  # the destination province
    note = labels.join([_filter_note(filters, lang), labels.text(_l(
        "Pickup rate = picked up within 24 h of registration / shipments; next-day rate = delivered or at a "
        "station before the end of the day after pickup (pickup day excluded) / (on time + late); "
        "no-pickup shipments counted apart; units: waybills, %, hours; Beijing time"), lang)], lang, clauses=True)
    return Table(title, note, headers, body, totals, "quality-provinces" if by_province else "quality")


LATE_HEADERS = (_x("export", "Carrier"), _x("export", "Tracking number"), _x("export", "Program"),
                _x("export", "Status"), _x("export", "Registered"), _x("export", "Picked up"),
                _x("export", "Delivered"), _x("export", "Hours taken"), _x("export", "Deadline (h)"))


def late_table(rows, lang: str = "zh", filters: "reports.ReportFilters | str | None" = None) -> Table:
    """Perishables past their program's deadline (no recipient data)."""
    zh = labels.is_zh(lang)
    body = [[labels.carrier_name(s.carrier, lang), s.tracking_number, _name(s.program, zh),
             labels.label(s.status, "status", lang),
             _bj(s.registered_at), _bj(s.picked_up_at), _bj(s.delivered_at), round(float(hours), 1),
             s.program.deadline_hours] for s, hours in rows]
    title = labels.text(_l("Perishables past their deadline"), lang)
    note = labels.join([_filter_note(filters, lang), labels.text(_l(
        "hours from pickup (registration when no pickup scan) to delivery, return or now; unit: hours; "
        "Beijing time"), lang)], lang, clauses=True)
    totals = [word("total", lang), len(body), "", "", "", "", "", "", ""]
    return Table(title, note, words(LATE_HEADERS, lang), body, totals, "late-perishables")


SHIPMENTS_HEADERS = (_x("export", "Tracking number"), _x("export", "Carrier"), _x("export", "Program"),
                     _x("export", "Status"), _x("export", "Pieces"), _x("export", "Registered"),
                     _x("export", "Picked up"), _x("export", "Delivered"))


def shipments_table(rows, lang: str = "zh", filters: "reports.ReportFilters | str | None" = None) -> Table:
    """The shipments behind a figure (no recipient data), with their count and pieces totalled."""
    zh = labels.is_zh(lang)
    no_program = labels.text(reports.NO_PROGRAM, lang)
    body = [[s.tracking_number, labels.carrier_name(s.carrier, lang),
             _name(s.program, zh) if s.program else no_program,
             labels.label(s.status, "status", lang), s.pieces, _bj(s.registered_at), _bj(s.picked_up_at),
             _bj(s.delivered_at)] for s in rows]
    totals = [word("total", lang), labels.text(WAYBILLS, lang, count=len(body)), "", "",
              sum(s.pieces for s in rows), "", "", ""]
    title = labels.text(_x("export", "Shipments behind the figure"), lang)
    note = labels.join([_filter_note(filters, lang), labels.text(
        _l("units: waybills, pieces; Beijing time; no recipient data"), lang)], lang, clauses=True)
    return Table(title, note, words(SHIPMENTS_HEADERS, lang), body, totals, "shipments")


SELLER_HEADERS = (_x("export", "Livestream session"), _x("export", "Tracking number"), _x("export", "Carrier"),
                  _x("export", "Order number"), _x("export", "Group"), _x("export", "Status"), _x("export", "Late"),
                  _x("export", "Pickup overdue"), _x("export", "Registered"), _x("export", "Last event"))


def seller_table(batches, group_names: dict[str, str], lang: str = "zh") -> Table:
    """A seller's livestream sessions, parcel by parcel, with the count per group as totals."""
    yes = labels.text(_x("export", "yes"), lang)
    no_session = labels.text(_l("(no session)"), lang)
    body = []
    for batch in batches:
        for row in batch.rows:
            s = row.shipment
            body.append([batch.label or no_session, s.tracking_number,
                         labels.carrier_name(s.carrier, lang), s.order_ref or "", group_names[row.group],
                         labels.label(s.status, "status", lang), yes if row.late else "",
                         yes if row.pickup_overdue else "", _bj(s.registered_at), _bj(s.last_event_at)])
    late = sum(1 for b in batches for r in b.rows if r.late)
    overdue = sum(1 for b in batches for r in b.rows if r.pickup_overdue)
    totals = [word("total", lang), labels.text(WAYBILLS, lang, count=len(body)), "", "", "", "", late,
              overdue, "", ""]
    names = labels.join((b.label or "—" for b in batches), lang)
    title = labels.text(_l("Livestream parcels: %(names)s"), lang, names=names)
    note = labels.text(_l("Unit: waybills; Beijing time; the totals row counts late and pickup-overdue waybills"), lang)
    return Table(title, note, words(SELLER_HEADERS, lang), body, totals, "seller-parcels")


NETWORK_HEADERS = (_x("export", "Township"), _x("export", "Inbound (shipments)"), _x("export", "Outbound (shipments)"),
                   _x("export", "Inbound (pieces)"), _x("export", "Outbound (pieces)"))


def network_table(network: reports.NetworkReport, lang: str = "zh",
                  filters: "reports.ReportFilters | str | None" = None) -> Table:
    """Inbound vs outbound per township, with coverage in the note."""
    body = [[t["name"], t["inbound"], t["outbound"], t["inbound_pieces"], t["outbound_pieces"]]
            for t in network.townships]
    totals = [word("total", lang), *(sum(t[k] for t in network.townships)
                                     for k in ("inbound", "outbound", "inbound_pieces", "outbound_pieces"))]
    coverage = network.coverage if network.coverage is not None else "-"
    title = labels.text(_l("Village network: inbound vs outbound"), lang)
    note = labels.join([
        _filter_note(filters, lang),
        labels.text(_l("Village-station coverage %(coverage)s %% (%(active)s/%(stations)s); %(silent)s station(s) "
                       "silent for 14 days"), lang, coverage=coverage, active=network.active_village_stations,
                    stations=network.village_stations, silent=len(network.silent_stations)),
        labels.text(_l("units: waybills, pieces"), lang)], lang, clauses=True)
    return Table(title, note, words(NETWORK_HEADERS, lang), body, totals, "network")


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
    """An XLSX workbook: bold title, note, header row, data with number formats, bold totals row.

    Written by XlsxWriter row by row (constant memory): openpyxl spent ~2 s of
    CPU on the 6,700-row quality report by province and 60 ms on 216 rows,
    XlsxWriter 0.55 s and 20 ms (bench figures in BENCHMARKS.md). Every text
    is written as text: a value starting with "=" is data, never a formula.
    """
    # Imported here so that an environment installed before this dependency still starts (only XLSX needs it).
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"constant_memory": True, "in_memory": True, "strings_to_formulas": False,
                                            "strings_to_urls": False, "strings_to_numbers": False})
    sheet = workbook.add_worksheet(table.filename[:31])
    title = workbook.add_format({"bold": True, "font_size": 14})
    header = workbook.add_format({"bold": True, "align": "center", "text_wrap": True})
    plain = {kind: workbook.add_format({"num_format": number_format}) for kind, number_format in XLSX_FORMATS.items()}
    bold = {kind: workbook.add_format({"num_format": number_format, "bold": True})
            for kind, number_format in XLSX_FORMATS.items()}
    bold_text = workbook.add_format({"bold": True})
    for index, text in enumerate(table.headers):
        sheet.set_column(index, index, max(10, min(40, len(text) * 2 + 2)))
    sheet.freeze_panes(3, 0)
    sheet.write_string(0, 0, str(table.title), title)
    sheet.write_string(1, 0, str(table.note))
    for column, text in enumerate(table.headers):
        sheet.write_string(2, column, str(text), header)

    def write(row: int, values, formats, text_format=None):
        for column, value in enumerate(values):
            kind = type(value)
            if value is None or value == "":
                continue
            if kind is int or kind is float or kind is Decimal:
                sheet.write_number(row, column, float(value) if kind is Decimal else value, formats.get(kind))
            elif kind is bool:
                sheet.write_boolean(row, column, value)
            elif kind is date or kind is datetime:
                sheet.write_datetime(row, column, value, formats[kind])
            else:
                sheet.write_string(row, column, str(value), text_format)

    for row, values in enumerate(table.rows, start=3):
        write(row, values, plain)
    if table.totals:
        write(3 + len(table.rows), table.totals, bold, bold_text)
    workbook.close()
    return buffer.getvalue()


# Number formats by the value's type (bool is not an int here: it has none).
XLSX_FORMATS = {Decimal: "#,##0.00", int: "#,##0", float: "General", date: "yyyy-mm-dd", datetime: "yyyy-mm-dd"}


def render(table: Table, fmt: str) -> tuple[bytes, str, str]:
    """Return (body, mimetype, filename) for fmt 'csv' or 'xlsx'."""
    if fmt == "csv":
        return to_csv(table), "text/csv; charset=utf-8", f"{table.filename}.csv"
    return (to_xlsx(table), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            f"{table.filename}.xlsx")
