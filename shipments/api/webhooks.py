"""Webhook subscriptions of the caller's organisation, their secrets, test sends and delivery logs."""
from datetime import timedelta

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from shipments.api.auth import auth_required, current_caller
from shipments.api.paging import keyset_page
from shipments.db import utcnow
from shipments.extensions import db
from shipments.models import WebhookDelivery
from shipments.models.enums import Role
from shipments.schemas.webhooks import (
    DeliveryPageSchema, DeliveryQuerySchema, DeliverySchema, RedeliverySchema, WebhookInSchema, WebhookPatchSchema,
    WebhookSchema, WebhookWithSecretSchema,
)
from shipments.services.webhooks import subscriptions as service

DESCRIPTION = """Outbound webhooks (事件推送) to your own systems.

Each event is POSTed as JSON (`id`, `event`, `occurred_at`, `previous_status`, `status`, `shipment`,
the shipment as this API shows it, phone digits masked) with these headers:

* `X-Yuexiang-Timestamp`: Unix seconds when the request was signed
* `X-Yuexiang-Event-Id`: the event id, stable across retries: deduplicate on it
* `X-Yuexiang-Signature`: lower-case hex HMAC-SHA256 with your secret over `timestamp + "." + raw body`;
  for 24 h after a secret rotation it holds two comma-separated signatures (new secret first)

Verify (Python):

    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256).hexdigest()
    ok = any(hmac.compare_digest(expected, s.strip()) for s in signature.split(","))
    # also refuse timestamps more than 5 minutes old

Answer 2xx within 5 s. 5xx, timeouts and 408/429 (honouring Retry-After) are retried with exponential
backoff from 1 minute for about a day; other 4xx are not retried. A subscription failing for 3 days is
disabled (see `disabled_reason`)."""

blp = Blueprint("webhooks", __name__, url_prefix="/api/v1/webhooks", description=DESCRIPTION)

MANAGERS = (Role.ADMIN, Role.MEMBER)


def _subscription(subscription_id: int):
    found = db.session.scalar(service.find_subscription(current_caller().organisation_id, subscription_id))
    if found is None:
        abort(404, message="找不到该订阅 (no such webhook subscription)")
    return found


def _refuse(exc: service.SubscriptionError):
    db.session.rollback()
    abort(422, message=f"{exc.field}: {exc.message}", errors={"json": {exc.field: [exc.message]}})


@blp.route("")
class Webhooks(MethodView):
    @auth_required(blp, *MANAGERS)
    @blp.response(200, WebhookSchema(many=True))
    def get(self):
        """List your organisation's webhook subscriptions"""
        return db.session.scalars(service.list_subscriptions(current_caller().organisation_id)).all()

    @auth_required(blp, *MANAGERS)
    @blp.arguments(WebhookInSchema)
    @blp.response(201, WebhookWithSecretSchema)
    @blp.alt_response(422, description="Bad URL (refused address, http in production), events or statuses")
    def post(self, data):
        """Subscribe a URL to events; the answer holds the signing secret, shown this once"""
        try:
            subscription, _secret = service.create_subscription(
                db.session, current_caller().organisation_id, url=data["url"], events=data["events"],
                statuses=data["statuses"], description=data["description"], config=current_app.config,
                now=utcnow())
        except service.SubscriptionError as exc:
            _refuse(exc)
        db.session.commit()
        return subscription  # dumped with its secret, this once


@blp.route("/<int(min=1, max=2147483647):subscription_id>")
class WebhookById(MethodView):
    @auth_required(blp, *MANAGERS)
    @blp.response(200, WebhookSchema)
    @blp.alt_response(404, description="No such subscription of your organisation")
    def get(self, subscription_id):
        """Read one subscription"""
        return _subscription(subscription_id)

    @auth_required(blp, *MANAGERS)
    @blp.arguments(WebhookPatchSchema)
    @blp.response(200, WebhookSchema)
    @blp.alt_response(404, description="No such subscription of your organisation")
    @blp.alt_response(422, description="Bad URL, events or statuses")
    def patch(self, data, subscription_id):
        """Change a subscription; `active` false disables it, true enables it again"""
        subscription = _subscription(subscription_id)
        try:
            service.update_subscription(db.session, subscription, data, config=current_app.config, now=utcnow())
        except service.SubscriptionError as exc:
            _refuse(exc)
        db.session.commit()
        return subscription

    @auth_required(blp, *MANAGERS)
    @blp.response(204)
    @blp.alt_response(404, description="No such subscription of your organisation")
    def delete(self, subscription_id):
        """Delete a subscription and its delivery log"""
        service.delete_subscription(db.session, _subscription(subscription_id))
        db.session.commit()


@blp.route("/<int(min=1, max=2147483647):subscription_id>/rotate-secret")
class WebhookSecret(MethodView):
    @auth_required(blp, *MANAGERS)
    @blp.response(200, WebhookWithSecretSchema)
    @blp.alt_response(404, description="No such subscription of your organisation")
    def post(self, subscription_id):
        """Rotate the signing secret: the new one is shown once; the old one keeps signing for the grace period"""
        subscription = _subscription(subscription_id)
        grace = timedelta(hours=float(current_app.config["WEBHOOK_SECRET_GRACE_HOURS"]))
        service.rotate_secret(subscription, grace=grace, now=utcnow())
        db.session.commit()
        return subscription  # dumped with its secret, this once


@blp.route("/<int(min=1, max=2147483647):subscription_id>/test")
class WebhookTest(MethodView):
    @auth_required(blp, *MANAGERS)
    @blp.response(202, DeliverySchema)
    @blp.alt_response(404, description="No such subscription of your organisation")
    def post(self, subscription_id):
        """Queue a `webhook.test` event for this subscription (sent by the worker within seconds)"""
        delivery = service.send_test(db.session, _subscription(subscription_id), now=utcnow())
        db.session.commit()
        return delivery


@blp.route("/<int(min=1, max=2147483647):subscription_id>/deliveries")
class WebhookDeliveries(MethodView):
    @auth_required(blp, *MANAGERS)
    @blp.arguments(DeliveryQuerySchema, location="query")
    @blp.response(200, DeliveryPageSchema)
    @blp.alt_response(404, description="No such subscription of your organisation")
    def get(self, query, subscription_id):
        """The delivery log, newest first: time, event, HTTP status, duration, attempts"""
        subscription = _subscription(subscription_id)
        log = service.delivery_log(subscription.id, before_id=query.get("before"), state=query.get("state"))
        return keyset_page(log, query["limit"], key="next_before")


@blp.route("/<int(min=1, max=2147483647):subscription_id>/deliveries/redeliver-failed")
class WebhookRedeliverFailed(MethodView):
    @auth_required(blp, *MANAGERS)
    @blp.response(202, RedeliverySchema)
    @blp.alt_response(404, description="No such subscription of your organisation")
    def post(self, subscription_id):
        """Queue every failed delivery of this subscription again"""
        queued = service.redeliver(db.session, _subscription(subscription_id), now=utcnow())
        db.session.commit()
        return {"queued": queued}


@blp.route("/<int(min=1, max=2147483647):subscription_id>/deliveries/<int(min=1, max=9223372036854775807):delivery_id>/redeliver")
class WebhookRedeliverOne(MethodView):
    @auth_required(blp, *MANAGERS)
    @blp.response(202, RedeliverySchema)
    @blp.alt_response(404, description="No such delivery of this subscription")
    def post(self, subscription_id, delivery_id):
        """Queue one delivery again (whatever its state)"""
        subscription = _subscription(subscription_id)
        delivery = db.session.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.subscription_id != subscription.id:
            abort(404, message="找不到该投递记录 (no such delivery)")
        queued = service.redeliver(db.session, subscription, now=utcnow(), delivery_id=delivery.id)
        db.session.commit()
        return {"queued": queued}
