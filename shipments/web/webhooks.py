"""Organisation portal, webhooks: subscribe your own systems, see the delivery log, redeliver."""
from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, Length, Optional

from shipments.db import utcnow
from shipments.extensions import db
from shipments.models import WebhookDelivery
from shipments.models.enums import Role, ShipmentStatus
from shipments.services import access
from shipments.services.webhooks import subscriptions as service
from shipments.web.auth import roles_required
from shipments.web.filters import STATUS_LABELS
from shipments.web.forms import options

bp = Blueprint("portal_webhooks", __name__, url_prefix="/portal/webhooks")

ROLES = (Role.MEMBER, Role.ADMIN)
EVENT_LABELS = {
    "shipment.registered": _l("Shipment registered"),
    "shipment.status_changed": _l("Status changed"),
    "shipment.pickup_overdue": _l("Not picked up a day after registration"),
    "shipment.late_perishable": _l("Perishable parcel late"),
    "shipment.needs_phone": _l("Carrier needs the phone's last 4 digits"),
    "shipment.exception": _l("Problem with the parcel"),
    "webhook.test": _l("Test event"),
}
STATE_LABELS = {"pending": _l("Waiting or retrying"), "delivered": _l("Received by your system"),
                "failed": _l("Failed")}
PAGE_SIZE = 50


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class SubscriptionForm(FlaskForm):
    url = StringField(_l("Address (URL) of your system"), validators=[DataRequired(), Length(max=500)])
    # Length, not DataRequired: that would make the browser require every box.
    events = CheckboxesField(_l("Events to send"), validators=[Length(min=1, message=_l("Choose at least one event."))],
                             choices=options([(e, EVENT_LABELS[e]) for e in service.EVENTS]))
    statuses = CheckboxesField(_l("Only these statuses (none ticked: every status change)"), validators=[Optional()],
                               choices=options([(s.value, STATUS_LABELS[s.value]) for s in ShipmentStatus]))
    description = StringField(_l("Note (e.g. which system)"), validators=[Optional(), Length(max=100)])


class ActionForm(FlaskForm):
    """A button that changes something: CSRF only."""


def _organisation_id() -> int:
    return access.caller_for_user(current_user).organisation_id


def _subscription(subscription_id: int):
    found = db.session.scalar(service.find_subscription(_organisation_id(), subscription_id))
    if found is None:
        abort(404)
    return found


def _index(form, secret=None, created=None, status=200):
    rows = db.session.scalars(service.list_subscriptions(_organisation_id())).all()
    return render_template("webhooks/index.html", subscriptions=rows, form=form, action=ActionForm(),
                           secret=secret, created=created, event_labels=EVENT_LABELS), status


@bp.get("/")
@roles_required(*ROLES)
def index():
    """The organisation's subscriptions and a form for a new one."""
    return _index(SubscriptionForm())


@bp.post("/")
@roles_required(*ROLES)
def create():
    """Subscribe an address; the secret is shown on this answer only (never stored in a cookie)."""
    form = SubscriptionForm()
    if form.validate_on_submit():
        try:
            subscription, secret = service.create_subscription(
                db.session, _organisation_id(), url=form.url.data, events=form.events.data,
                statuses=form.statuses.data or [], description=form.description.data, config=current_app.config,
                now=utcnow())
        except service.SubscriptionError as exc:
            getattr(form, exc.field, form.url).errors = [_("Refused: %(reason)s", reason=exc.message)]
        else:
            db.session.commit()
            return _index(SubscriptionForm(formdata=None), secret=secret, created=subscription, status=201)
    return _index(form, status=400)


@bp.post("/<int(min=1, max=2147483647):subscription_id>/<any(enable, disable, test, rotate, delete):action>")
@roles_required(*ROLES)
def act(subscription_id, action):
    """Enable, disable, send a test event, rotate the secret, or delete."""
    subscription = _subscription(subscription_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    now = utcnow()
    if action in ("enable", "disable"):
        service.update_subscription(db.session, subscription, {"active": action == "enable"},
                                    config=current_app.config, now=now)
        flash(_("Subscription enabled.") if action == "enable" else _("Subscription disabled."), "success")
    elif action == "test":
        service.send_test(db.session, subscription, now=now)
        flash(_("A test event is on its way; see the delivery log."), "success")
    elif action == "rotate":
        grace = timedelta(hours=float(current_app.config["WEBHOOK_SECRET_GRACE_HOURS"]))
        secret = service.rotate_secret(subscription, grace=grace, now=now)
        db.session.commit()
        return _index(SubscriptionForm(formdata=None), secret=secret, created=subscription)
    else:
        service.delete_subscription(db.session, subscription)
        flash(_("Subscription deleted."), "success")
    db.session.commit()
    return redirect(url_for(".index"), 303)


@bp.get("/<int(min=1, max=2147483647):subscription_id>")
@roles_required(*ROLES)
def log(subscription_id):
    """A subscription's delivery log, newest first, a page at a time."""
    subscription = _subscription(subscription_id)
    before = request.args.get("before", type=int)
    state = request.args.get("state") if request.args.get("state") in STATE_LABELS else None
    rows = db.session.scalars(service.delivery_log(subscription.id, before_id=before, state=state)
                              .limit(PAGE_SIZE + 1)).all()
    next_before = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    return render_template("webhooks/log.html", subscription=subscription, deliveries=rows[:PAGE_SIZE],
                           next_before=next_before, state=state, first_page=before is None, action=ActionForm(),
                           event_labels=EVENT_LABELS, state_labels=STATE_LABELS)


@bp.post("/<int(min=1, max=2147483647):subscription_id>/redeliver")
@roles_required(*ROLES)
def redeliver(subscription_id):
    """Queue one delivery (delivery_id) or every failed one again."""
    subscription = _subscription(subscription_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    delivery_id = request.form.get("delivery_id", type=int)
    if delivery_id is not None:
        delivery = db.session.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.subscription_id != subscription.id:
            abort(404)
    count = service.redeliver(db.session, subscription, now=utcnow(), delivery_id=delivery_id)
    db.session.commit()
    flash(_("%(count)s deliveries queued again.", count=count), "success")
    return redirect(url_for(".log", subscription_id=subscription.id), 303)
