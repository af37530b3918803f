"""The officials' dashboard: program progress, charts, county map, quality, late perishables, drill-down."""
from urllib.parse import quote

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user
from marshmallow import fields

from shipments.extensions import db
from shipments.models.enums import Role
from shipments.schemas.reports import (
    DashboardQuerySchema, QualityQuerySchema, ReportFilterQuerySchema, VolumeQuerySchema,
)
from shipments.services import access, admin, exports, programs, reports
from shipments.services.network import figures as network_figures
from shipments.web import paging
from shipments.web.auth import roles_required
from shipments.web.i18n import select_locale

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
OFFICIALS = (Role.OFFICIAL, Role.ADMIN)
PAGE_SIZE = 50
MAX_PAGES = 200  # offset paging stops at 10,000 rows: narrow the filters or export
EXPORT_LIMIT = 100_000
QUALITY_PAGE_SIZE = 200


@bp.app_template_filter("bj_time")
def bj_time(moment, fmt="%Y-%m-%d %H:%M"):
    """Show an aware datetime in Beijing time."""
    return moment.astimezone(reports.BEIJING).strftime(fmt) if moment else ""


def ui_lang() -> str:
    """The figures' language: ?lang=, else the page's language (cookie or user setting)."""
    lang = request.args.get("lang")
    if lang in ("zh", "en"):
        return lang
    return "en" if select_locale().startswith("en") else "zh"


def _values(schema, source) -> dict:
    # A repeated parameter (group_by=program&group_by=county) is a list field: give it the whole list.
    # The page number is the pager's, not a filter. A blank value is no filter: the filter form's "all"
    # choices and the page's links without a county send `county=` (they were refused with a 400).
    return {key: (source.getlist(key) if isinstance(schema.fields.get(key), fields.List) else source.get(key))
            for key in source if key != "page" and source.get(key) != ""}


def _load(schema, source=None) -> dict:
    values = _values(schema, source or request.args)
    errors = schema.validate(values)
    if errors:
        abort(400, description="; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in errors.items()))
    return schema.load(values)


@bp.get("")
@roles_required(*OFFICIALS)
def index():
    """Program cards, charts, the county map, carrier quality and late perishables."""
    args = _load(DashboardQuerySchema())
    as_of = args.get("as_of") or reports.beijing_today()
    year = args.get("year") or as_of.year
    # An official limited to one county sees that county only, whatever the filter says.
    limited = access.caller_for_user(current_user).county_code
    county = limited or args.get("county")
    figures = reports.dashboard_figures(db.session, year, as_of, ui_lang(), args.get("program_id"), county)
    network = network_figures.dashboard_network(db.session, as_of)
    zh = ui_lang() == "zh"
    choices = {"programs": [(p.id, p.name if zh else p.name_en)
                            for p in db.session.scalars(programs.list_programs(year, county=limited))],
               "counties": [(d.code, d.name if zh else d.name_en) for d in db.session.scalars(admin.list_counties())
                            if limited in (None, d.code)]}
    return render_template("dashboard/index.html", f=figures, lang=ui_lang(), network=network, choices=choices,
                           chosen=args)


@bp.get("/shipments")
@roles_required(*OFFICIALS)
def shipments():
    """The shipments behind a figure (same filters as the reports), a page at a time, each linked."""
    errors = ReportFilterQuerySchema().validate(_values(ReportFilterQuerySchema(), request.args))
    if errors:
        # A reversed date range or a mistyped code: say what is wrong instead of answering with nothing.
        return render_template("dashboard/shipments.html", errors=errors, rows=[], page=None, filters=None,
                               note="", lang=ui_lang(), args={}), 400
    args = _load(ReportFilterQuerySchema())
    filters = reports.filters_for(access.caller_for_user(current_user), args)
    stmt = reports.matching_shipments(db.session, filters)
    # The count comes from the rollups (the same filters, exact): counting the rows took seconds at 10M.
    total = reports.volume_report(db.session, "month", (), filters).totals["shipments"]
    page = paging.Page(request.args.get("page", 1, type=int), PAGE_SIZE, total, MAX_PAGES)
    rows = db.session.scalars(stmt.offset(page.offset).limit(PAGE_SIZE)).all()
    kept = {k: v for k, v in request.args.items() if k not in ("page", "format") and v}
    return render_template("dashboard/shipments.html", rows=rows, page=page, filters=filters, errors=None,
                           note=reports.describe_filters(db.session, filters, ui_lang()), lang=ui_lang(), args=kept)


@bp.get("/quality")
@roles_required(*OFFICIALS)
def quality():
    """Delivery quality per program × carrier, or per destination province of the program/carrier asked."""
    schema = QualityQuerySchema()
    errors = schema.validate(_values(schema, request.args))
    if errors:
        return render_template("dashboard/quality.html", errors=errors, rows=[], page=None, note="", lang=ui_lang(),
                               args={}, by_province=False), 400
    args = schema.load(_values(schema, request.args))
    filters = reports.filters_for(access.caller_for_user(current_user), args)
    by_province = args["by_province"]
    rows = reports.label_quality(db.session, reports.quality_report(db.session, filters, by_province=by_province),
                                 ui_lang(), by_province)
    # All programs by province is thousands of rows: the page shows them a page at a time (the export has all).
    page = paging.Page(request.args.get("page", 1, type=int), QUALITY_PAGE_SIZE, len(rows))
    kept = {k: v for k, v in request.args.items() if k not in ("page", "format") and v}
    return render_template("dashboard/quality.html", rows=rows[page.offset:page.offset + page.size], page=page,
                           errors=None, by_province=by_province, lang=ui_lang(), args=kept,
                           note=reports.describe_filters(db.session, filters, ui_lang()))


@bp.get("/export/<any(volumes, quality, late, network, progress, shipments):report>.<any(csv, xlsx):fmt>")
@roles_required(*OFFICIALS)
def export(report, fmt):
    """Download a report as CSV or XLSX, headed in the UI language."""
    lang = ui_lang()
    caller = access.caller_for_user(current_user)
    if report == "volumes":
        args = _load(VolumeQuerySchema())
        filters = reports.filters_for(caller, args)
        data = reports.volume_report(db.session, args["period"], args["group_by"], filters)
        table = exports.volume_table(reports.label_report(db.session, data, lang), lang,
                                     reports.describe_filters(db.session, filters, lang))
    elif report == "progress":
        args = _load(DashboardQuerySchema())
        as_of = args.get("as_of") or reports.beijing_today()
        county = caller.county_code or args.get("county")
        program_list = [p for p in db.session.scalars(programs.list_programs(as_of.year, county=county))
                        if args.get("program_id") in (None, p.id)]
        table = exports.progress_table(reports.programs_progress(db.session, program_list, as_of), lang)
    else:
        args = _load(QualityQuerySchema() if report == "quality" else ReportFilterQuerySchema())
        filters = reports.filters_for(caller, args)
        note = reports.describe_filters(db.session, filters, lang)
        if report == "quality":
            by_province = args["by_province"]
            rows = reports.quality_report(db.session, filters, by_province=by_province)
            table = exports.quality_table(reports.label_quality(db.session, rows, lang, by_province), lang, note,
                                          by_province)
        elif report == "late":
            table = exports.late_table(db.session.execute(reports.late_perishables(db.session, filters)).all(), lang,
                                       note)
        elif report == "shipments":
            rows = db.session.scalars(reports.matching_shipments(db.session, filters).limit(EXPORT_LIMIT)).all()
            table = exports.shipments_table(rows, lang, note)
        else:
            table = exports.network_table(reports.network_report(db.session, filters), lang, note)
    body, mimetype, filename = exports.render(table, fmt)
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


