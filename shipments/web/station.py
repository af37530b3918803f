"""The village station page for attendants (/station/): light enough for a 2G/3G phone.

One small HTML page (no framework, no pico: its own 2 KB stylesheet), one
script and a service worker that keeps the page usable offline. Actions are
queued in the browser with an idempotency key and posted as JSON to
/station/actions when the connection is there; the desk service records each
key once.
"""
from datetime import datetime
from pathlib import Path

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError

from shipments.db import utcnow
from shipments.extensions import csrf, db
from shipments.models import Station
from shipments.models.enums import Role
from shipments.schemas.network import StationActionInSchema
from shipments.services import access
from shipments.services.carriers import provider_settings
from shipments.services.network import desk
from shipments.web.auth import roles_required
from shipments.web.filters import STATUS_LABELS
from shipments.web.i18n import select_locale

bp = Blueprint("station", __name__, url_prefix="/station")
ACTION_LABELS = {"arrival": _l("arrived"), "handover": _l("handed over"), "outbound": _l("outbound registered")}
STATIC = "station"  # shipments/static/station: the script and the service worker


def _lang() -> str:
    return "en" if select_locale().startswith("en") else "zh"


def _station():
    """The station the logged-in attendant looks after (admins may pick one with ?station_id=)."""
    chosen = request.args.get("station_id", type=int)
    if current_user.role == Role.ADMIN and chosen:
        station = db.session.get(Station, chosen)
    else:
        station = desk.attended_station(db.session, current_user.id, chosen)
    if station is None:
        abort(403)
    return station


@bp.get("/")
@roles_required(Role.MEMBER, Role.ADMIN)
def index():
    """Today's inbound parcels and the three actions (arrival, hand-over, outbound)."""
    station = _station()
    parcels = db.session.scalars(desk.inbound_parcels(station, utcnow())).all()
    since = datetime.combine(desk_today(), datetime.min.time(), tzinfo=desk.BEIJING)
    actions = db.session.scalars(desk.recent_actions(station, since)).all()
    response = current_app.make_response(render_template(
        "station/index.html", station=station, parcels=parcels, actions=actions, status_labels=STATUS_LABELS,
        action_labels=ACTION_LABELS))
    # The service worker keeps its own copy; the browser cache must not serve a stale list.
    response.headers["Cache-Control"] = "no-cache"
    return response


def desk_today():
    return utcnow().astimezone(desk.BEIJING).date()


@bp.post("/actions")
@csrf.exempt  # JSON only, with a custom header a cross-site form cannot send (no CORS here); see station.js
@roles_required(Role.MEMBER, Role.ADMIN)
def record():
    """Record one queued action (idempotent on its key); answers JSON."""
    if request.headers.get("X-Station-Request") != "1" or not request.is_json:
        abort(400)
    station = _station()
    try:
        data = StationActionInSchema().load(request.get_json(silent=True) or {})
    except ValidationError as exc:
        field = next(iter(exc.messages), "json")
        return jsonify(ok=False, field=field, message=desk.DeskError(field, "invalid").text(_lang())), 422
    caller = access.caller_for_user(current_user)
    options = dict(station=station, user=current_user, kind=data["kind"], key=data["key"], number=data["number"],
                   carrier=data.get("carrier") or None, phone_last4=data.get("phone_last4") or None,
                   occurred_at=data["occurred_at"], now=utcnow(),
                   providers=provider_settings(current_app.config), caller=caller)
    try:
        result = desk.record_action(db.session, **options)
        db.session.commit()
    except desk.DeskError as exc:
        db.session.rollback()
        return jsonify(ok=False, field=exc.field, message=exc.text(_lang())), 422
    except IntegrityError:
        # The same key was recorded by a request running at the same moment: answer as a replay.
        db.session.rollback()
        result = desk.record_action(db.session, **options)
    shipment = result.shipment
    return jsonify(ok=True, replayed=result.replayed, key=data["key"], number=shipment.tracking_number,
                   status=str(STATUS_LABELS.get(shipment.status.value, shipment.status.value))), (
        200 if result.replayed else 201)


@bp.get("/sw.js")
def service_worker():
    """The service worker, served from /station/ so that its scope is the station page."""
    # Read whole (a 1.5 KB file): no open file handle outlives the request.
    body = (Path(current_app.static_folder) / STATIC / "sw.js").read_bytes()
    response = current_app.response_class(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/station/"
    return response
