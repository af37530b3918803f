"""Public tracking page: a buyer looks up one parcel on a phone (masked data only)."""
from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from shipments.extensions import db
from shipments.lookup_limits import lookup_limited
from shipments.models import Province
from shipments.schemas.shipments import dump_public_parcel
from shipments.services import public_tracking
from shipments.services.shipments import normalise_number

bp = Blueprint("tracking", __name__)


class LookupForm(FlaskForm):
    class Meta:
        csrf = False  # a GET lookup changes nothing

    number = StringField(_l("Tracking number"), validators=[DataRequired(), Length(max=40)])


class PhoneForm(FlaskForm):
    phone_last4 = StringField(_l("Last 4 digits of the recipient's phone"), validators=[
        DataRequired(), Regexp(r"^\d{4}$", message=_l("Enter 4 digits."))])


@bp.get("/track")
def lookup():
    """The lookup form; a submitted number goes to its shareable page."""
    form = LookupForm(request.args)
    if request.args.get("number") and form.validate():
        number = normalise_number(form.number.data)
        if number:
            return redirect(url_for(".parcel", number=number), 303)
    return render_template("track/lookup.html", form=form)


@bp.route("/t/<string(maxlength=40):number>", methods=["GET", "POST"])
# The API lookup's limits: per client, and per client and number against guessing the phone
# digits (only answers to the digit form count there, so a shared link can be reloaded).
@lookup_limited("web-track", number_methods=("POST",), only_misses=False)
def parcel(number):
    """One parcel as services/public_tracking.py allows: the timeline with the right phone digits."""
    number = normalise_number(number)
    form = PhoneForm()
    digits = form.phone_last4.data if form.validate_on_submit() else None
    found = public_tracking.find_public_parcel(db.session, number, digits)
    if found is None:
        return render_template("track/parcel.html", number=number, parcel=None, form=form,
                               tried=request.method == "POST"), 404
    parcel = dump_public_parcel(found)
    parcel["events"].reverse()  # newest first
    share_url = url_for(".parcel", number=number, _external=True)
    code = parcel["destination_province_code"]  # None unless the timeline is shown
    province = db.session.get(Province, code) if code else None
    return render_template("track/parcel.html", number=number, parcel=parcel, form=form,
                           province=province, share_url=share_url)
