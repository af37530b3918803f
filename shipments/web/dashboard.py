"""The officials' dashboard: program progress, charts, county map, quality, late perishables, drill-down."""
from urllib.parse import quote

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user

from shipments.extensions import db
from shipments.models.enums import Role
from shipments.schemas.reports import ProgressQuerySchema, ReportFilterQuerySchema, VolumeQuerySchema
from shipments.services import access, exports, programs, reports
from shipments.services.network import figures as network_figures
from shipments.web.auth import roles_required
from shipments.web.i18n import select_locale

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
OFFICIALS = (Role.OFFICIAL, Role.ADMIN)
DRILL_LIMIT = 200


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


def _load(schema, source=None) -> dict:
    errors = schema.validate(source or request.args)
    if errors:
        abort(400, description="; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in errors.items()))
    return schema.load(source or request.args)


@bp.get("")
@roles_required(*OFFICIALS)
def index():
    """Program cards, charts, the county map, carrier quality and late perishables."""
    args = _load(ProgressQuerySchema())
    as_of = args.get("as_of") or reports.beijing_today()
    year = request.args.get("year", type=int) or as_of.year
    figures = reports.dashboard_figures(db.session, year, as_of, ui_lang(),
                                        county=access.caller_for_user(current_user).county_code)
    network = network_figures.dashboard_network(db.session, as_of)
    return render_template("dashboard/index.html", f=figures, lang=ui_lang(), network=network)


@bp.get("/shipments")
@roles_required(*OFFICIALS)
def shipments():
    """The shipments behind a figure (same filters as the reports)."""
    args = _load(ReportFilterQuerySchema())
    filters = reports.filters_for(access.caller_for_user(current_user), args)
    stmt = reports.matching_shipments(db.session, filters)
    # The count comes from the rollups (the same filters, exact): counting the rows took seconds at 10M.
    total = reports.volume_report(db.session, "month", (), filters).totals["shipments"]
    rows = db.session.scalars(stmt.limit(DRILL_LIMIT)).all()
    return render_template("dashboard/shipments.html", rows=rows, total=total, limit=DRILL_LIMIT, filters=filters,
                           status_labels=reports.STATUS_LABELS, lang=ui_lang())


@bp.get("/export/<any(volumes, quality, late, network, progress):report>.<any(csv, xlsx):fmt>")
@roles_required(*OFFICIALS)
def export(report, fmt):
    """Download a report as CSV or XLSX, headed in the UI language."""
    lang = ui_lang()
    caller = access.caller_for_user(current_user)
    if report == "volumes":
        args = _load(VolumeQuerySchema())
        data = reports.volume_report(db.session, args["period"], args["group_by"], reports.filters_for(caller, args))
        table = exports.volume_table(reports.label_report(db.session, data, lang), lang)
    elif report == "progress":
        args = _load(ProgressQuerySchema())
        as_of = args.get("as_of") or reports.beijing_today()
        program_list = db.session.scalars(programs.list_programs(as_of.year, county=caller.county_code)).all()
        table = exports.progress_table([reports.program_progress(db.session, p, as_of) for p in program_list], lang)
    else:
        args = _load(ReportFilterQuerySchema())
        filters = reports.filters_for(caller, args)
        if report == "quality":
            table = exports.quality_table(reports.label_quality(db.session, reports.quality_report(db.session, filters),
                                                                lang), lang)
        elif report == "late":
            table = exports.late_table(db.session.execute(reports.late_perishables(db.session, filters)).all(), lang)
        else:
            table = exports.network_table(reports.network_report(db.session, filters), lang)
    body, mimetype, filename = exports.render(table, fmt)
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


