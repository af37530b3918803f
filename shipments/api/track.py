"""Public tracking: one parcel by number and the phone's last 4 digits."""
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from shipments.extensions import db
from shipments.lookup_limits import lookup_limited
from shipments.schemas.shipments import PublicShipmentSchema, TrackQuerySchema, dump_public_parcel
from shipments.services import public_tracking

blp = Blueprint("track", __name__, url_prefix="/api/v1/track", description="Public tracking (公开查询)")

NOT_FOUND = "查询不到该运单，或手机尾号不符 (no parcel matches this number and phone digits)"


@blp.route("/<string(maxlength=80):number>")
class Track(MethodView):
    # Per client, and per client and number where only misses count (wrong digits,
    # unknown numbers): strangers guessing digits exhaust their own budget, never the recipient's.
    decorators = [lookup_limited("track", number_methods=("GET", "HEAD"))]

    @blp.arguments(TrackQuerySchema, location="query")
    @blp.response(200, PublicShipmentSchema)
    @blp.alt_response(404, description="Unknown number or wrong digits (the same answer for both)")
    @blp.alt_response(429, description="Too many lookups from this client or for this number")
    def get(self, query, number):
        """Look up one parcel (public, masked): with the phone's last 4 digits, its timeline; without, its status"""
        parcel = public_tracking.find_public_parcel(db.session, number, query["phone_last4"])
        if parcel is None:
            abort(404, message=NOT_FOUND)
        # Built from the rows (the same document as PublicShipmentSchema, see tests/test_public.py).
        return current_app.json.response(dump_public_parcel(parcel))
