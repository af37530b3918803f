"""Officials' network pages: county → township → station view with the assessment table, centres and
routes, one shipment read-only and masked (events, poll log, provenance), and the import batches.

Its own blueprint under /dashboard/network so that the dashboard's module stays the pages helper's.
"""
from datetime import timedelta
from urllib.parse import quote

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import lazy_gettext as _l, lazy_pgettext as _x
from flask_login import current_user
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shipments import labels
from shipments.extensions import db
from shipments.models import ImportBatch
from shipments.models.enums import Role
from shipments.services import access, exports, history, imports, poll_log, reports
from shipments.services import shipments as shipment_service
from shipments.services.masking import mask_text
from shipments.services.network import figures, officials, routes
from shipments.web.auth import roles_required
from shipments.web.filters import STATUS_LABELS
from shipments.web.i18n import select_locale

bp = Blueprint("network", __name__, url_prefix="/dashboard/network")
OFFICIALS = (Role.OFFICIAL, Role.ADMIN)
POLLS_SHOWN = 50


class NetworkQuerySchema(Schema):
    date_from = fields.Date()
    date_to = fields.Date()
    county = fields.String(validate=validate.Regexp(r"^\d{6}$"))
    township = fields.String(validate=validate.Regexp(r"^\d{9}$"))

    @validates_schema
    def _order(self, data, **kwargs):
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError("must not be after date_to", "date_from")


def _lang() -> str:
    return "en" if select_locale().startswith("en") else "zh"


def _args() -> dict:
    try:
        args = NetworkQuerySchema().load(request.args.to_dict())
    except ValidationError as exc:
        abort(400, description="; ".join(f"{k}: {v}" for k, v in exc.messages.items()))
    today = reports.beijing_today()
    args.setdefault("date_to", today)
    args.setdefault("date_from", args["date_to"] - timedelta(days=29))
    if (args["date_to"] - args["date_from"]).days > 366:
        abort(400, description="date_from: at most 366 days")
    if args.get("township") and not args.get("county"):
        args["county"] = args["township"][:6]
    return args


@bp.get("/")
@roles_required(*OFFICIALS)
def index():
    """Per county (or township of a county): coverage, 邮快合作, silent stations, routes, in/out, growth."""
    args = _args()
    view = officials.network_view(db.session, args["date_from"], args["date_to"], args.get("county"),
                                  args.get("township"), _lang())
    centres = figures.centres_overview(db.session, args["date_to"])
    route_list = db.session.scalars(routes.list_routes(args.get("county")).limit(100)).all()
    route_rows = figures.route_figures(db.session, route_list, reports.ReportFilters(
        date_from=args["date_from"], date_to=args["date_to"]))
    year_ago = (args["date_to"] - timedelta(days=364)).isoformat()
    return render_template("network/index.html", view=view, args=args, centres=centres, routes=route_rows,
                           year_ago=year_ago)


@bp.get("/assessment.<any(csv, xlsx):fmt>")
@roles_required(*OFFICIALS)
def assessment(fmt):
    """The county assessment table (考核清单) as Excel or CSV."""
    args = _args()
    view = officials.network_view(db.session, args["date_from"], args["date_to"], args.get("county"), None, _lang())
    body, mimetype, filename = exports.render(assessment_table(view, _lang()), fmt)
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


ASSESSMENT_HEADERS = (
    _x("assessment", "County/township"), _x("assessment", "Village stations"), _x("assessment", "Active stations"),
    _x("assessment", "Coverage %"), _x("assessment", "邮快合作 stations"), _x("assessment", "邮快合作 coverage %"),
    _x("assessment", "Silent 14 days"), _x("assessment", "Routes"), _x("assessment", "Inbound (shipments)"),
    _x("assessment", "Outbound (shipments)"), _x("assessment", "Pieces"), _x("assessment", "Pieces last year"),
    _x("assessment", "Growth %"), _x("assessment", "Perishables next-day %"),
)


def assessment_table(view, lang: str) -> exports.Table:
    def row(a, name):
        return [name, a.village_stations, a.active_stations, a.coverage, a.post_express, a.post_express_coverage,
                len(a.silent), a.routes, a.inbound, a.outbound, a.pieces, a.pieces_last_year, a.growth, a.next_day_rate]
    total = view.total
    title = labels.text(_l("Express-to-village assessment"), lang)
    note = labels.text(_l("%(start)s to %(end)s (Beijing); coverage = village stations with a parcel in the period / "
                          "all; growth on the same days last year"), lang, start=view.date_from, end=view.date_to)
    return exports.Table(title, note, exports.words(ASSESSMENT_HEADERS, lang), [row(a, a.name) for a in view.areas],
                         row(total, exports.word("total", lang))[:1] + row(total, "")[1:], "assessment")


@bp.get("/shipment/<carrier>/<number>")
@roles_required(*OFFICIALS)
def shipment(carrier, number):
    """One shipment, read-only and masked for officials: events (with source), poll log, provenance."""
    caller = access.caller_for_user(current_user)
    found = db.first_or_404(shipment_service.find_shipment(caller, carrier, number))
    events = db.session.scalars(shipment_service.shipment_events(found.id)).all()
    polls = db.session.scalars(poll_log.shipment_polls(found.id).limit(POLLS_SHOWN)).all()
    batch = db.session.get(ImportBatch, found.import_batch_id) if found.import_batch_id else None
    masked = not caller.sees_personal_data
    changes = history.history_rows(db.session, found.id, masked=masked)
    return render_template("network/shipment.html", shipment=found, events=list(reversed(events)), polls=polls,
                           batch=batch, masked=masked, mask=mask_text, status_labels=STATUS_LABELS, history=changes)


@bp.get("/imports")
@roles_required(*OFFICIALS)
def import_batches():
    """Every upload with its row report, newest first (keyset on id)."""
    after = request.args.get("after", type=int)
    rows = db.session.scalars(imports.list_batches(access.caller_for_user(current_user), after).limit(51)).all()
    return render_template("network/imports.html", batches=rows[:50], next_after=rows[49].id if len(rows) > 50 else None,
                           chosen=request.args.get("batch", type=int))


@bp.get("/centres/<int(min=1, max=2147483647):centre_id>")
@roles_required(*OFFICIALS)
def centre(centre_id):
    """One centre's days: reported volume, our parcels, capacity, utilisation, peak, before/after."""
    found = figures.find_centre(db.session, centre_id) or abort(404)
    args = _args()
    try:
        data = figures.centre_figures(db.session, found, args["date_from"], args["date_to"])
    except figures.FigureError as exc:
        abort(400, description=exc.message)
    return render_template("network/centre.html", f=data, args=args)


