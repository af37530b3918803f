"""Shipment schemas: input (structure only: the rules live in
services/shipments.py), output for members and admins, masked output for
officials, the public tracking view, list queries and import reports."""
from datetime import datetime
from decimal import Decimal
from enum import Enum

from marshmallow import Schema, ValidationError, fields, validate

from integrations.carriers import CARRIERS
from shipments.models.enums import Channel, Direction, ShipmentStatus
from shipments.services.masking import mask_text
from shipments.services.shipments import has_control_chars, provenance

_CARRIER_CODES = sorted(CARRIERS)


def _no_control_chars(value: str) -> None:
    if has_control_chars(value):
        raise ValidationError("must not contain control characters")


class ShipmentInSchema(Schema):
    """One registration. Values are checked by the shared import rules."""

    number = fields.String(required=True, validate=validate.Length(max=80),
                           metadata={"description": "运单号 (normalised: full-width, spaces and dashes removed)",
                                     "example": "SBX0000000001"})
    carrier = fields.String(allow_none=True, validate=validate.Length(max=40), metadata={
        "description": f"快递公司 code or name; omitted → detected from the number. Codes: {', '.join(_CARRIER_CODES)}"})
    phone_last4 = fields.String(allow_none=True, validate=validate.Length(max=24),
                                metadata={"description": "收件人手机尾号 (only the last 4 digits are stored)"})
    program_id = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=1, max=2147483647))
    channel = fields.String(allow_none=True, validate=validate.Length(max=20),
                            metadata={"description": f"渠道: {', '.join(c.value for c in Channel)} or 抖音/快手/…"})
    direction = fields.String(allow_none=True, validate=validate.Length(max=20),
                              metadata={"description": "outbound (出村) or inbound (进村)"})
    origin_division_code = fields.String(allow_none=True, validate=validate.Length(max=20),
                                         metadata={"description": "Shaoxing county or township code (or name)"})
    destination_province = fields.String(allow_none=True, validate=validate.Length(max=20),
                                         metadata={"description": "目的省份: code (440000) or name (广东省)"})
    destination_city = fields.String(allow_none=True, validate=validate.Length(max=80))
    pieces = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=-2147483648, max=2147483647))
    weight_kg = fields.Decimal(allow_none=True, metadata={"description": "kg, up to 3 decimals"})
    declared_value = fields.Decimal(allow_none=True, metadata={"description": "元, up to 2 decimals"})
    order_ref = fields.String(allow_none=True, validate=validate.Length(max=200))
    batch_label = fields.String(allow_none=True, validate=validate.Length(max=200))


class EventSchema(Schema):
    occurred_at = fields.AwareDateTime(required=True)
    status = fields.Enum(ShipmentStatus, by_value=True, required=True)
    substatus = fields.String(allow_none=True)
    location = fields.String(allow_none=True)
    description = fields.String(required=True)
    raw_code = fields.String(allow_none=True)
    source = fields.String(required=True)


class MaskedEventSchema(EventSchema):
    description = fields.Function(lambda e: mask_text(e.description), required=True,
                                  metadata={"type": "string"})


class ShipmentSchema(Schema):
    """A shipment as its own organisation and admins see it."""

    carrier = fields.String(required=True)
    number = fields.String(attribute="tracking_number", required=True)
    provider = fields.String(required=True)
    organisation_id = fields.Integer(required=True)
    program_id = fields.Integer(allow_none=True)
    channel = fields.Enum(Channel, by_value=True, required=True)
    direction = fields.Enum(Direction, by_value=True, required=True)
    origin_division_code = fields.String(allow_none=True)
    destination_province_code = fields.String(allow_none=True)
    destination_city = fields.String(allow_none=True)
    pieces = fields.Integer(required=True)
    weight_kg = fields.Decimal(as_string=True, allow_none=True)
    declared_value = fields.Decimal(as_string=True, allow_none=True)
    order_ref = fields.String(allow_none=True)
    phone_last4 = fields.String(allow_none=True)
    batch_label = fields.String(allow_none=True)
    status = fields.Enum(ShipmentStatus, by_value=True, required=True)
    substatus = fields.String(allow_none=True)
    at_station = fields.Boolean(required=True)
    tracked_carrier = fields.String(allow_none=True)
    tracked_number = fields.String(allow_none=True)
    registered_at = fields.AwareDateTime(required=True)
    picked_up_at = fields.AwareDateTime(allow_none=True)
    delivered_at = fields.AwareDateTime(allow_none=True)
    last_event_at = fields.AwareDateTime(allow_none=True)
    next_poll_at = fields.AwareDateTime(allow_none=True, metadata={"description": "when it is asked next; null when stopped"})
    stop_reason = fields.String(allow_none=True, metadata={
        "description": "why polling stopped: delivered, returned, expired_no_news, invalid_number, needs_phone, cancelled"})
    tracking_alert = fields.String(allow_none=True, metadata={
        "description": "carrier-side trouble to look at: no_record_yet, tracking_aborted"})
    cancelled_at = fields.AwareDateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)


class OfficialShipmentSchema(ShipmentSchema):
    """Officials read every shipment with the recipient's data masked."""

    phone_last4 = fields.Constant(None, allow_none=True, metadata={"type": "string"})
    order_ref = fields.Constant(None, allow_none=True, metadata={"type": "string"})


class ProvenanceSchema(Schema):
    """How the shipment was registered (绩效可追)."""

    source = fields.String(allow_none=True, required=True,
                           metadata={"enum": ["import", "form", "api", "station", "push", None]})
    batch_id = fields.Integer(allow_none=True, required=True, metadata={"description": "import batch (imports)"})
    file_name = fields.String(allow_none=True, required=True, metadata={"description": "uploaded file (imports)"})
    row = fields.Integer(allow_none=True, required=True, metadata={"description": "row in the file (imports)"})
    user_id = fields.Integer(allow_none=True, required=True, metadata={"description": "who registered it (pages)"})
    token_id = fields.Integer(allow_none=True, required=True, metadata={"description": "API token used"})


def _provenance_of(shipment) -> dict:
    batch = shipment.import_batch
    return provenance(shipment.source, shipment.import_batch_id, batch.file_name if batch else None,
                      shipment.import_row, shipment.registered_by_user_id, shipment.registered_by_token_id)


class ShipmentDetailSchema(ShipmentSchema):
    events = fields.List(fields.Nested(EventSchema), required=True)
    provenance = fields.Function(_provenance_of, required=True,
                                 metadata={"$ref": "#/components/schemas/Provenance"})


class OfficialShipmentDetailSchema(OfficialShipmentSchema):
    events = fields.List(fields.Nested(MaskedEventSchema), required=True)
    provenance = fields.Function(_provenance_of, required=True,
                                 metadata={"$ref": "#/components/schemas/Provenance"})


# ------------------------------------------------ GET one shipment, from rows
# The same document as ShipmentDetailSchema / OfficialShipmentDetailSchema dump,
# built from plain column values without marshmallow on the API's hottest read
# (tests/test_api_shipments.py proves both give equal output for both views).
_DETAIL_KEYS = tuple((name, field.attribute or name) for name, field in ShipmentSchema._declared_fields.items())
_EVENT_KEYS = tuple(EventSchema._declared_fields)
_MASKED = {name: field.constant for name, field in OfficialShipmentSchema._declared_fields.items()
           if isinstance(field, fields.Constant)}


def _plain(value):
    """Convert a column value the way the schemas dump it."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def dump_shipment_detail(shipment: dict, events: list[dict], masked: bool) -> dict:
    """Build the shipment-with-events document from column values, masked for officials."""
    document = {key: _plain(shipment[column]) for key, column in _DETAIL_KEYS}
    document["events"] = [{key: _plain(event[key]) for key in _EVENT_KEYS} for event in events]
    document["provenance"] = provenance(shipment["source"], shipment["import_batch_id"], shipment["import_file_name"],
                                        shipment["import_row"], shipment["registered_by_user_id"],
                                        shipment["registered_by_token_id"])
    if masked:
        document.update(_MASKED)
        for event in document["events"]:
            event["description"] = mask_text(event["description"])
    return document


class ShipmentPageSchema(Schema):
    items = fields.List(fields.Nested(ShipmentSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True,
                                metadata={"description": "Pass as `cursor` for the next page; null on the last"})


class OfficialShipmentPageSchema(ShipmentPageSchema):
    items = fields.List(fields.Nested(OfficialShipmentSchema), required=True)


class ShipmentQuerySchema(Schema):
    """Filters of the shipment list; pages follow `cursor`."""

    program = fields.Integer(validate=validate.Range(min=1, max=2147483647))
    status = fields.Enum(ShipmentStatus, by_value=True)
    carrier = fields.String(validate=validate.OneOf(_CARRIER_CODES))
    county = fields.String(validate=validate.Regexp(r"^\d{6}$"), metadata={"description": "county code, e.g. 330681"})
    direction = fields.Enum(Direction, by_value=True)
    channel = fields.Enum(Channel, by_value=True)
    flag = fields.String(validate=validate.OneOf(["needs_phone", "expired", "pickup_overdue", "stalled", "alert"]),
                         metadata={"description": "needs_phone: waiting for phone digits; stalled: live, no news "
                                                  "for 48 hours; alert: no_record_yet or tracking_aborted"})
    registered_from = fields.AwareDateTime(metadata={"description": "inclusive"})
    registered_to = fields.AwareDateTime(metadata={"description": "exclusive"})
    search = fields.String(validate=[validate.Length(min=1, max=64), _no_control_chars],
                           metadata={"description": "number or order ref"})
    cursor = fields.String(validate=validate.Length(max=200))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class TemplateQuerySchema(Schema):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(["csv", "xlsx"]))
    lang = fields.String(load_default="zh", validate=validate.OneOf(["zh", "en"]))


class ProblemSchema(Schema):
    row = fields.Integer(required=True, metadata={"description": "row in the file (JSON: item position from 1)"})
    field = fields.String(required=True)
    column = fields.String(required=True, metadata={"description": "the column header as written in the file"})
    code = fields.String(required=True)
    message = fields.String(required=True)


class ImportReportSchema(Schema):
    rows = fields.Integer(required=True)
    created = fields.Integer(required=True)
    needs_phone = fields.Integer(required=True, metadata={
        "description": "of created: SF/ZTO rows without phone digits, counted but not tracked until the digits come"})
    updated = fields.Integer(required=True, metadata={
        "description": "rows already yours that this upload gave the phone digits they were waiting for"})
    duplicate_in_file = fields.Integer(required=True)
    already_registered = fields.Integer(required=True)
    registered_by_other_org = fields.Integer(required=True)
    invalid = fields.Integer(required=True)
    blank = fields.Integer(required=True, metadata={
        "description": "a file's blank rows below its header: passed over, counted in neither rows nor invalid"})
    problems = fields.List(fields.Nested(ProblemSchema), required=True)
    problems_truncated = fields.Boolean(required=True)


class ShipmentPatchSchema(Schema):
    """Fields a registration's owner may change later (the import rules check the values)."""

    phone_last4 = fields.String(validate=validate.Length(min=1, max=24),
                                metadata={"description": "收件人手机尾号: adding it resumes a shipment waiting for it"})
    program_id = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=1, max=2147483647))
    channel = fields.String(validate=validate.Length(min=1, max=20))
    direction = fields.String(validate=validate.Length(min=1, max=20))
    destination_province = fields.String(validate=validate.Length(min=1, max=20))
    destination_city = fields.String(allow_none=True, validate=validate.Length(max=80))
    pieces = fields.Integer(strict=True, validate=validate.Range(min=-2147483648, max=2147483647))
    order_ref = fields.String(allow_none=True, validate=validate.Length(max=200))


class CancelInSchema(Schema):
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=200), _no_control_chars],
                           metadata={"description": "取消原因, e.g. 订单已退款 (order refunded)"})


class TrackQuerySchema(Schema):
    phone_last4 = fields.String(load_default=None, validate=validate.Length(max=8), metadata={
        "description": "收件人手机尾号 4 位: needed to see the timeline of a parcel registered with them"})


class PublicEventSchema(Schema):
    occurred_at = fields.AwareDateTime(required=True)
    status = fields.Enum(ShipmentStatus, by_value=True, required=True)
    location = fields.String(allow_none=True)
    description = fields.Function(lambda e: mask_text(e["description"]), required=True, metadata={"type": "string"})


def _shown(name):
    """A shipment field the public sees only with the timeline (the right phone digits)."""
    return lambda p: p.shipment[name] if p.timeline else None


def _carrier_name(code: str) -> str:
    return CARRIERS[code].name_zh if code in CARRIERS else code


class PublicShipmentSchema(Schema):
    """What the public sees of a parcel (services/public_tracking.py decides how much):
    never the phone, order, organisation or personal names."""

    carrier = fields.String(attribute="shipment.carrier", required=True)
    carrier_name = fields.Function(lambda p: _carrier_name(p.shipment["carrier"]), required=True,
                                   metadata={"type": "string"})
    number = fields.String(attribute="shipment.tracking_number", required=True)
    status = fields.Enum(ShipmentStatus, attribute="shipment.status", by_value=True, required=True)
    timeline = fields.Boolean(required=True, metadata={
        "description": "false: registered without phone digits, so only the status and last city are shown"})
    last_city = fields.String(allow_none=True, metadata={"description": "where the parcel was last scanned"})
    substatus = fields.Function(_shown("substatus"), allow_none=True, metadata={"type": "string"})
    destination_province_code = fields.Function(_shown("destination_province_code"), allow_none=True,
                                                metadata={"type": "string"})
    destination_city = fields.Function(_shown("destination_city"), allow_none=True, metadata={"type": "string"})
    picked_up_at = fields.Function(lambda p: p.shipment["picked_up_at"].isoformat()
                                   if p.timeline and p.shipment["picked_up_at"] else None,
                                   allow_none=True, metadata={"type": "string", "format": "date-time"})
    delivered_at = fields.Function(lambda p: p.shipment["delivered_at"].isoformat()
                                   if p.timeline and p.shipment["delivered_at"] else None,
                                   allow_none=True, metadata={"type": "string", "format": "date-time"})
    events = fields.List(fields.Nested(PublicEventSchema), required=True)


# ------------------------------------------- the public answer, from rows
# The same document PublicShipmentSchema dumps, built from the row mappings
# without marshmallow: the buyers' hottest read (tests/test_public.py proves
# both give equal output for every kind of answer).
def dump_public_parcel(parcel) -> dict:
    """Build the public answer for a PublicParcel (services/public_tracking.py) from its column values."""
    shipment, timeline = parcel.shipment, parcel.timeline
    return {
        "carrier": shipment["carrier"],
        "carrier_name": _carrier_name(shipment["carrier"]),
        "number": shipment["tracking_number"],
        "status": _plain(shipment["status"]),
        "timeline": timeline,
        "last_city": parcel.last_city,
        "substatus": shipment["substatus"] if timeline else None,
        "destination_province_code": shipment["destination_province_code"] if timeline else None,
        "destination_city": shipment["destination_city"] if timeline else None,
        "picked_up_at": _plain(shipment["picked_up_at"]) if timeline else None,
        "delivered_at": _plain(shipment["delivered_at"]) if timeline else None,
        "events": [{"occurred_at": _plain(event["occurred_at"]), "status": _plain(event["status"]),
                    "location": event["location"], "description": mask_text(event["description"])}
                   for event in parcel.events],
    }
