"""Public tracking: one parcel by number and the phone's last 4 digits."""
from flask import current_app, request
from flask.views import MethodView
from flask_limiter.util import get_remote_address
from flask_smorest import Blueprint, abort

from shipments.extensions import db, limiter
from shipments.schemas.shipments import PublicShipmentSchema, TrackQuerySchema
from shipments.services import public_tracking
from shipments.services import shipments as service

blp = Blueprint("track", __name__, url_prefix="/api/v1/track", description="Public tracking (公开查询)")

NOT_FOUND = "查询不到该运单，或手机尾号不符 (no parcel matches this number and phone digits)"


def _number_key() -> str:
    # Per client AND number: strangers guessing digits exhaust their own budget, never the recipient's.
    number = service.normalise_number((request.view_args or {}).get("number", ""))
    return f"track-number:{get_remote_address()}:{number}"


@blp.route("/<string(maxlength=80):number>")
class Track(MethodView):
    decorators = [
        limiter.limit(lambda: current_app.config["TRACK_RATE_LIMIT"]),
        limiter.limit(lambda: current_app.config["TRACK_NUMBER_RATE_LIMIT"], key_func=_number_key,
                      deduct_when=lambda response: response.status_code == 404),  # wrong digits only
    ]

    @blp.arguments(TrackQuerySchema, location="query")
    @blp.response(200, PublicShipmentSchema)
    @blp.alt_response(404, description="Unknown number or wrong digits (the same answer for both)")
    @blp.alt_response(429, description="Too many lookups from this client or for this number")
    def get(self, query, number):
        """Look up one parcel (public, masked): with the phone's last 4 digits, its timeline; without, its status"""
        parcel = public_tracking.find_public_parcel(db.session, number, query["phone_last4"])
        if parcel is None:
            abort(404, message=NOT_FOUND)
        return parcel
