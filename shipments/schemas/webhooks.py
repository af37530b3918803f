"""Webhook schemas: subscription input (create, change), output (the secret only once), the delivery log."""
from marshmallow import Schema, fields, validate

from shipments.models.enums import DeliveryState, ShipmentStatus
from shipments.services.webhooks.outbox import EVENTS

_STATUSES = [s.value for s in ShipmentStatus]


class WebhookInSchema(Schema):
    """A new subscription."""

    url = fields.String(required=True, validate=validate.Length(min=8, max=500), metadata={
        "description": "Where to POST events: https (http only for loopback outside production); "
                       "private and loopback addresses are refused unless WEBHOOK_ALLOW_PRIVATE=1",
        "example": "https://erp.example.com/yuexiang/hook"})
    events = fields.List(fields.String(validate=validate.OneOf(EVENTS)), required=True,
                         validate=validate.Length(min=1, max=len(EVENTS)),
                         metadata={"description": "Events wanted: " + ", ".join(EVENTS)})
    statuses = fields.List(fields.String(validate=validate.OneOf(_STATUSES)), load_default=list,
                           validate=validate.Length(max=len(_STATUSES)), metadata={
                               "description": "shipment.status_changed only for these new statuses (empty: all)"})
    description = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=100))


class WebhookPatchSchema(Schema):
    """Changes to a subscription (all optional); `active: false` disables, `true` enables again."""

    url = fields.String(validate=validate.Length(min=8, max=500))
    events = fields.List(fields.String(validate=validate.OneOf(EVENTS)),
                         validate=validate.Length(min=1, max=len(EVENTS)))
    statuses = fields.List(fields.String(validate=validate.OneOf(_STATUSES)),
                           validate=validate.Length(max=len(_STATUSES)))
    description = fields.String(allow_none=True, validate=validate.Length(max=100))
    active = fields.Boolean()


class WebhookSchema(Schema):
    """A subscription (never its secret)."""

    id = fields.Integer(required=True)
    url = fields.String(required=True)
    description = fields.String(allow_none=True)
    events = fields.List(fields.String(), required=True)
    statuses = fields.List(fields.String(), required=True)
    active = fields.Boolean(required=True)
    disabled_at = fields.AwareDateTime(allow_none=True)
    disabled_reason = fields.String(allow_none=True, metadata={"description": "manual, or failing (disabled automatically)"})
    failing_since = fields.AwareDateTime(allow_none=True)
    last_success_at = fields.AwareDateTime(allow_none=True)
    last_failure_at = fields.AwareDateTime(allow_none=True)
    previous_secret_until = fields.AwareDateTime(allow_none=True, metadata={
        "description": "After a rotation, the old secret also signs until then"})
    created_at = fields.AwareDateTime(required=True)


class WebhookWithSecretSchema(WebhookSchema):
    """A subscription just created or rotated: the only time its secret is shown."""

    secret = fields.String(required=True, metadata={"description": "Signing secret; shown this once, store it"})


class DeliverySchema(Schema):
    """One event for this subscription and how its delivery went."""

    id = fields.Integer(required=True)
    event = fields.String(required=True)
    event_id = fields.String(required=True, metadata={"description": "Also sent as X-Yuexiang-Event-Id"})
    shipment_id = fields.Integer(allow_none=True)
    state = fields.Enum(DeliveryState, by_value=True, required=True)
    attempts = fields.Integer(required=True)
    occurred_at = fields.AwareDateTime(required=True)
    created_at = fields.AwareDateTime(required=True)
    next_attempt_at = fields.AwareDateTime(allow_none=True)
    last_attempt_at = fields.AwareDateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_duration_ms = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    delivered_at = fields.AwareDateTime(allow_none=True)


class DeliveryQuerySchema(Schema):
    before = fields.Integer(validate=validate.Range(min=1, max=2 ** 62),
                            metadata={"description": "Keyset cursor: deliveries with a smaller id (next_before)"})
    state = fields.String(validate=validate.OneOf([s.value for s in DeliveryState]))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class DeliveryPageSchema(Schema):
    items = fields.List(fields.Nested(DeliverySchema), required=True)
    next_before = fields.Integer(allow_none=True, required=True)


class RedeliverySchema(Schema):
    queued = fields.Integer(required=True)
