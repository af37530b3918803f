"""Network schemas: stations, routes, centre volumes and figures, station actions, poll log, import batches."""
from marshmallow import Schema, fields, validate

from shipments.models.enums import RouteKind, StationActionKind, StationKind, StationLevel

_ID = validate.Range(min=1, max=2147483647)


class NetworkStationSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    level = fields.Enum(StationLevel, by_value=True, required=True)
    kind = fields.Enum(StationKind, by_value=True, required=True)
    division_code = fields.String(required=True)
    census_code = fields.String(allow_none=True)
    latitude = fields.Decimal(as_string=True, allow_none=True)
    longitude = fields.Decimal(as_string=True, allow_none=True)
    brands = fields.List(fields.String(), required=True, metadata={"description": "carrier codes served"})
    post_express = fields.Boolean(required=True, metadata={"description": "邮快合作"})
    attendant_name = fields.String(allow_none=True)
    daily_capacity = fields.Integer(allow_none=True, metadata={"description": "centres: parcels a day"})
    aliases = fields.List(fields.String(), required=True, metadata={
        "description": "other names carriers' scans use for the station (matched when events are applied)"})
    active = fields.Boolean(required=True)
    assumed = fields.Boolean(required=True)


class PublicStationSchema(NetworkStationSchema):
    """Members see no attendant names."""

    attendant_name = fields.Constant(None, allow_none=True, metadata={"type": "string"})


class StationPageSchema(Schema):
    items = fields.List(fields.Nested(NetworkStationSchema), required=True)
    next_cursor = fields.Integer(allow_none=True, required=True, metadata={"description": "pass as `after`"})


class StationQuerySchema(Schema):
    level = fields.Enum(StationLevel, by_value=True)
    county = fields.String(validate=validate.Regexp(r"^\d{6}$"))
    township = fields.String(validate=validate.Regexp(r"^\d{9}$"))
    after = fields.Integer(validate=validate.Range(min=0, max=2147483647), metadata={"description": "keyset cursor"})
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=1000))


class InboundParcelSchema(Schema):
    """A parcel on a station's inbound list (no personal data)."""

    carrier = fields.String(required=True)
    number = fields.String(required=True, attribute="tracking_number")
    status = fields.String(required=True)
    registered_at = fields.AwareDateTime(required=True)
    last_event_at = fields.AwareDateTime(allow_none=True, required=True)
    addressed = fields.Boolean(required=True, metadata={
        "description": "addressed to the station; false: on the list because a carrier's scan named the station"})


class InboundPageSchema(Schema):
    station_id = fields.Integer(required=True)
    items = fields.List(fields.Nested(InboundParcelSchema), required=True, metadata={
        "description": "not yet handed over, newest first, at most 200"})


class StationInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    level = fields.String(required=True, validate=validate.Length(max=20))
    kind = fields.String(validate=validate.Length(max=30))
    division_code = fields.String(required=True, validate=validate.Length(max=12))
    census_code = fields.String(validate=validate.Length(max=30))
    latitude = fields.String(validate=validate.Length(max=20))
    longitude = fields.String(validate=validate.Length(max=20))
    brands = fields.List(fields.String(validate=validate.Length(max=20)), validate=validate.Length(max=20))
    post_express = fields.Boolean()
    attendant_name = fields.String(validate=validate.Length(max=40))
    daily_capacity = fields.String(validate=validate.Length(max=10))
    aliases = fields.List(fields.String(validate=validate.Length(max=40)), validate=validate.Length(max=10),
                          metadata={"description": "other names carriers' scans use (e.g. the village's name)"})


class CensusReportSchema(Schema):
    rows = fields.Integer(required=True)
    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    problems = fields.List(fields.Dict(), required=True, metadata={"description": "row, field, message"})


class RouteStopSchema(Schema):
    position = fields.Integer(required=True)
    station_id = fields.Integer(required=True)
    station_name = fields.Function(lambda stop: stop.station.name, required=True, metadata={"type": "string"})
    minutes = fields.Integer(required=True, metadata={"description": "after departure"})


class RouteSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.Enum(RouteKind, by_value=True, required=True)
    county_code = fields.String(required=True)
    departures = fields.Function(lambda route: route.departures.split(), required=True,
                                 metadata={"type": "array", "items": {"type": "string"}})
    operator = fields.String(allow_none=True)
    active = fields.Boolean(required=True)
    stops = fields.List(fields.Nested(RouteStopSchema), required=True)


class RouteQuerySchema(Schema):
    county = fields.String(validate=validate.Regexp(r"^\d{6}$"))
    after = fields.Integer(validate=validate.Range(min=0, max=2147483647))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class RoutePageSchema(Schema):
    items = fields.List(fields.Nested(RouteSchema), required=True)
    next_cursor = fields.Integer(allow_none=True, required=True)


class RouteInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    kind = fields.Enum(RouteKind, by_value=True, required=True)
    county_code = fields.String(required=True, validate=validate.Regexp(r"^\d{6}$"))
    departures = fields.List(fields.String(validate=validate.Length(max=5)), load_default=list)
    station_ids = fields.List(fields.Integer(validate=_ID), required=True, validate=validate.Length(min=1, max=60))
    operator = fields.String(validate=validate.Length(max=80))
    active = fields.Boolean(load_default=True)


class CentreDayInSchema(Schema):
    day = fields.Date(required=True, metadata={"description": "Beijing day"})
    sorted_pieces = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=10_000_000))


class CentreDaysInSchema(Schema):
    days = fields.List(fields.Nested(CentreDayInSchema), required=True, validate=validate.Length(min=1, max=400))


class CentreDaysOutSchema(Schema):
    recorded = fields.Integer(required=True)


class CentreFigureQuerySchema(Schema):
    date_from = fields.Date(required=True)
    date_to = fields.Date(required=True)


class CentreDayFigureSchema(Schema):
    day = fields.Date(required=True)
    reported = fields.Integer(allow_none=True, required=True, metadata={"description": "the centre's own count"})
    ours = fields.Integer(required=True, metadata={
        "description": "pieces of our parcels scanned at the centre that Beijing day (carrier events matched to it)"})
    capacity = fields.Integer(allow_none=True, required=True)
    utilisation = fields.Decimal(as_string=True, allow_none=True, required=True, metadata={"description": "%"})


class CentreFiguresSchema(Schema):
    centre_id = fields.Function(lambda f: f.centre.id, required=True, metadata={"type": "integer"})
    centre_name = fields.Function(lambda f: f.centre.name, required=True, metadata={"type": "string"})
    date_from = fields.Date(required=True)
    date_to = fields.Date(required=True)
    reported_total = fields.Integer(required=True)
    ours_total = fields.Integer(required=True)
    average = fields.Integer(allow_none=True, required=True)
    peak = fields.Nested(CentreDayFigureSchema, allow_none=True, required=True)
    change = fields.Dict(allow_none=True, required=True, metadata={
        "description": "latest capacity change: day, capacity_before/after, average_before/after (30 days each)"})
    days = fields.List(fields.Nested(CentreDayFigureSchema), required=True)


class PollSchema(Schema):
    sent_at = fields.AwareDateTime(required=True)
    provider = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": ["track", "subscribe"]})
    http_status = fields.Integer(allow_none=True, required=True)
    outcome = fields.String(required=True)
    duration_ms = fields.Integer(required=True)
    error = fields.String(allow_none=True, required=True)


class PollPageSchema(Schema):
    items = fields.List(fields.Nested(PollSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class ShipmentChangeSchema(Schema):
    """One field changed after registration (绩效可追)."""

    changed_at = fields.AwareDateTime(required=True)
    field = fields.String(required=True, metadata={"description": "the column changed (phone_last4, program_id, "
                                                                  "status, cancel_reason, …)"})
    old = fields.String(allow_none=True, required=True, metadata={"description": "masked (***) for officials "
                                                                               "where it is the recipient's data"})
    new = fields.String(allow_none=True, required=True)
    source = fields.String(required=True, metadata={"enum": ["form", "api", "paste", "import"]})
    user = fields.String(allow_none=True, required=True, metadata={"description": "the username, for a login"})
    token = fields.String(allow_none=True, required=True, metadata={"description": "label and prefix, for a token"})


class ShipmentHistorySchema(Schema):
    items = fields.List(fields.Nested(ShipmentChangeSchema), required=True,
                        metadata={"description": "newest first, at most 200"})


class PollQuerySchema(Schema):
    cursor = fields.String(validate=validate.Length(max=200))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class ImportBatchSchema(Schema):
    id = fields.Integer(required=True)
    organisation_id = fields.Integer(required=True)
    file_name = fields.String(allow_none=True, required=True)
    uploaded_by_user_id = fields.Integer(allow_none=True, required=True)
    uploaded_by_token_id = fields.Integer(allow_none=True, required=True)
    created_at = fields.AwareDateTime(required=True)
    rows = fields.Integer(required=True)
    created = fields.Integer(required=True)
    invalid = fields.Integer(required=True)
    duplicates = fields.Integer(required=True)
    report = fields.Dict(allow_none=True, required=True, metadata={"description": "the row report, as after upload"})


class ImportBatchPageSchema(Schema):
    items = fields.List(fields.Nested(ImportBatchSchema), required=True)
    next_cursor = fields.Integer(allow_none=True, required=True)


class ImportBatchQuerySchema(Schema):
    after = fields.Integer(validate=validate.Range(min=0, max=2147483647))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class StationActionInSchema(Schema):
    key = fields.String(required=True, validate=validate.Length(min=8, max=64),
                        metadata={"description": "idempotency key made by the phone"})
    kind = fields.Enum(StationActionKind, by_value=True, required=True)
    number = fields.String(required=True, validate=validate.Length(min=1, max=80))
    carrier = fields.String(allow_none=True, validate=validate.Length(max=20))
    phone_last4 = fields.String(allow_none=True, validate=validate.Length(max=24))
    occurred_at = fields.AwareDateTime(required=True)
