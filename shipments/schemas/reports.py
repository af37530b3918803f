"""Schemas for programs and reports."""
from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from integrations.carriers import CARRIERS
from shipments.models.enums import Channel, Direction, Product, ShipmentStatus
from shipments.services.reports import GROUPINGS, PERIODS

# Reports cover the service's lifetime; far-off dates are typos (and overflow date arithmetic).
DATE_RANGE = validate.Range(min=date(2000, 1, 1), max=date(2100, 12, 31))


class ReportFilterQuerySchema(Schema):
    """The shipment-list filters, shared by every report."""

    date_from = fields.Date(validate=DATE_RANGE, metadata={"description": "First Beijing registration day (inclusive)"})
    date_to = fields.Date(validate=DATE_RANGE, metadata={"description": "Last Beijing registration day (inclusive)"})
    program_id = fields.Integer(validate=validate.Range(min=1, max=2147483647))
    county = fields.String(validate=validate.Regexp(r"^\d{6}$", error="a 6-digit county code"))
    township = fields.String(validate=validate.Regexp(r"^\d{9}$", error="a 9-digit township code"))
    station_id = fields.Integer(validate=validate.Range(min=1, max=2147483647))
    carrier = fields.String(validate=validate.OneOf(sorted(CARRIERS)))
    status = fields.String(validate=validate.OneOf([s.value for s in ShipmentStatus]))
    direction = fields.String(validate=validate.OneOf([d.value for d in Direction]))
    channel = fields.String(validate=validate.OneOf([c.value for c in Channel]))
    province = fields.String(validate=validate.Regexp(r"^\d{6}$", error="a 6-digit province code"))
    taken = fields.Boolean(metadata={"description": "true: only parcels the carrier has taken (not pending, "
                                                    "info_received, cancelled, returning or returned): the "
                                                    "dashboard's done (完成)"})
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv", "xlsx"]),
                           metadata={"description": "json, or a csv/xlsx download (title, units, totals row)"})
    lang = fields.String(load_default="zh", validate=validate.OneOf(["zh", "en"]),
                         metadata={"description": "Language of labels and export headers"})

    @validates_schema
    def _dates_in_order(self, data, **kwargs):
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError("must not be after date_to", "date_from")


class QualityQuerySchema(ReportFilterQuerySchema):
    by_province = fields.Boolean(load_default=False, metadata={
        "description": "true: one row per program × carrier × destination province (thousands of rows for "
                       "all programs: narrow with program_id or carrier); false (default): per program × carrier"})


class VolumeQuerySchema(ReportFilterQuerySchema):
    period = fields.String(load_default="day", validate=validate.OneOf(PERIODS))
    group_by = fields.List(fields.String(validate=validate.OneOf(list(GROUPINGS))), load_default=list,
                           validate=validate.Length(max=2),
                           metadata={"description": "Up to two groupings (repeat the parameter)"})


class ProgressQuerySchema(Schema):
    as_of = fields.Date(validate=DATE_RANGE, metadata={"description": "Beijing day to report up to (default today)"})
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv", "xlsx"]))
    lang = fields.String(load_default="zh", validate=validate.OneOf(["zh", "en"]))


class DashboardQuerySchema(ProgressQuerySchema):
    """The dashboard page's filters: the day, and one program or county."""

    program_id = fields.Integer(validate=validate.Range(min=1, max=2147483647))
    county = fields.String(validate=validate.Regexp(r"^\d{6}$", error="a 6-digit county code"))
    year = fields.Integer(validate=validate.Range(min=2000, max=2100))


class VolumeRowSchema(Schema):
    period = fields.Date(required=True)
    keys = fields.List(fields.Raw(), required=True)
    labels = fields.List(fields.String(), required=True)
    shipments = fields.Integer(required=True)
    pieces = fields.Integer(required=True)
    value = fields.Decimal(as_string=True, required=True, metadata={"description": "Declared value, yuan"})


class TotalsSchema(Schema):
    shipments = fields.Integer(required=True)
    pieces = fields.Integer(required=True)
    value = fields.Decimal(as_string=True, required=True)


class VolumeReportSchema(Schema):
    period = fields.String(required=True)
    group_by = fields.List(fields.String(), required=True)
    rows = fields.List(fields.Nested(VolumeRowSchema), required=True)
    totals = fields.Nested(TotalsSchema, required=True)


class ShortfallSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    pieces = fields.Integer(required=True)
    prorated_target = fields.Integer(allow_none=True)
    percent = fields.Decimal(as_string=True, allow_none=True)
    flagged = fields.Boolean(required=True)


class ProgressSchema(Schema):
    program_id = fields.Function(lambda p: p.program.id, required=True)
    program_name = fields.Function(lambda p: p.program.name, required=True)
    as_of = fields.Date(required=True)
    season_start = fields.Date(required=True)
    season_end = fields.Date(required=True)
    elapsed_days = fields.Integer(required=True)
    season_days = fields.Integer(required=True)
    target = fields.Integer(required=True)
    prorated_target = fields.Integer(required=True)
    pieces = fields.Integer(required=True, metadata={
        "description": "Done (完成): pieces registered in the season up to as_of whose parcel the carrier has "
                       "taken (not pending, info_received, cancelled, returning or returned)"})
    shipments = fields.Integer(required=True, metadata={"description": "Waybills of those pieces"})
    percent_of_prorated = fields.Decimal(as_string=True, allow_none=True)
    projected_pieces = fields.Integer(allow_none=True)
    projected_percent = fields.Decimal(as_string=True, allow_none=True)
    tier = fields.String(allow_none=True)
    flagged = fields.Boolean(required=True)
    counties = fields.List(fields.Nested(ShortfallSchema), required=True)
    townships = fields.List(fields.Nested(ShortfallSchema), required=True)


class QualityRowSchema(Schema):
    program_id = fields.Integer(allow_none=True)
    carrier = fields.String(required=True)
    province_code = fields.String(allow_none=True, metadata={
        "description": "With by_province=true (null: unknown province); always null without it"})
    labels = fields.List(fields.String(), required=True, metadata={
        "description": "Program and carrier names, then the province's with by_province=true"})
    shipments = fields.Integer(required=True)
    picked_within_24h = fields.Integer(required=True)
    pickup_rate = fields.Decimal(as_string=True, allow_none=True)
    no_pickup = fields.Integer(required=True)
    next_day_on_time = fields.Integer(required=True)
    next_day_late = fields.Integer(required=True)
    next_day_pending = fields.Integer(required=True)
    next_day_rate = fields.Decimal(as_string=True, allow_none=True)
    transit_p50_hours = fields.Float(allow_none=True)
    transit_p90_hours = fields.Float(allow_none=True)
    exceptions = fields.Integer(required=True)
    exception_rate = fields.Decimal(as_string=True, allow_none=True)
    returns = fields.Integer(required=True)
    return_rate = fields.Decimal(as_string=True, allow_none=True)


def dump_quality_rows(rows) -> list[dict]:
    """QualityRowSchema(many=True).dump(rows), field for field, built directly.

    The all-province report is ~7,000 rows (the key space, whatever the
    volume) and marshmallow spent about a second on them; a test checks
    that both give the same answer.
    """
    def rate(value):
        return None if value is None else format(value, "f")

    def hours(value):
        return None if value is None else float(value)

    return [{"program_id": r.program_id, "carrier": r.carrier, "province_code": r.province_code,
             "labels": [str(label) for label in r.labels], "shipments": r.shipments,
             "picked_within_24h": r.picked_within_24h, "pickup_rate": rate(r.pickup_rate), "no_pickup": r.no_pickup,
             "next_day_on_time": r.next_day_on_time, "next_day_late": r.next_day_late,
             "next_day_pending": r.next_day_pending, "next_day_rate": rate(r.next_day_rate),
             "transit_p50_hours": hours(r.transit_p50_hours), "transit_p90_hours": hours(r.transit_p90_hours),
             "exceptions": r.exceptions, "exception_rate": rate(r.exception_rate), "returns": r.returns,
             "return_rate": rate(r.return_rate)} for r in rows]


class LateShipmentSchema(Schema):
    carrier = fields.Function(lambda r: r[0].carrier, required=True)
    tracking_number = fields.Function(lambda r: r[0].tracking_number, required=True)
    program_id = fields.Function(lambda r: r[0].program_id, required=True)
    status = fields.Function(lambda r: str(r[0].status), required=True)
    registered_at = fields.Function(lambda r: r[0].registered_at.isoformat(), required=True)
    picked_up_at = fields.Function(lambda r: r[0].picked_up_at and r[0].picked_up_at.isoformat())
    delivered_at = fields.Function(lambda r: r[0].delivered_at and r[0].delivered_at.isoformat())
    hours = fields.Function(lambda r: round(float(r[1]), 1), required=True)
    deadline_hours = fields.Function(lambda r: r[0].program.deadline_hours, required=True)


def dump_late_rows(rows) -> list[dict]:
    """LateShipmentSchema(many=True).dump(rows), field for field, built directly (a test checks both agree).

    marshmallow's Function fields took most of the request for 500 rows.
    """
    def moment(value):
        return value and value.isoformat()

    return [{"carrier": s.carrier, "tracking_number": s.tracking_number, "program_id": s.program_id,
             "status": str(s.status), "registered_at": s.registered_at.isoformat(),
             "picked_up_at": moment(s.picked_up_at), "delivered_at": moment(s.delivered_at),
             "hours": round(float(hours), 1), "deadline_hours": s.program.deadline_hours} for s, hours in rows]


class StationSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    division_code = fields.String(required=True)


class TownshipFlowSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    inbound = fields.Integer(required=True)
    outbound = fields.Integer(required=True)
    inbound_pieces = fields.Integer(required=True)
    outbound_pieces = fields.Integer(required=True)


class NetworkSchema(Schema):
    as_of = fields.Date(required=True)
    village_stations = fields.Integer(required=True)
    active_village_stations = fields.Integer(required=True)
    coverage = fields.Decimal(as_string=True, allow_none=True, metadata={"description": "percent"})
    silent_stations = fields.List(fields.Nested(StationSchema), required=True)
    townships = fields.List(fields.Nested(TownshipFlowSchema), required=True)


def dump_network(network) -> dict:
    """NetworkSchema().dump(network's answer), field for field, built directly (a test checks both agree)."""
    def count(value):
        return int(value)

    return {"as_of": network.as_of.isoformat(), "village_stations": network.village_stations,
            "active_village_stations": network.active_village_stations,
            "coverage": None if network.coverage is None else format(network.coverage, "f"),
            "silent_stations": [{"id": s.id, "name": s.name, "division_code": s.division_code}
                                for s in network.silent_stations],
            "townships": [{"code": t["code"], "name": t["name"], "inbound": count(t["inbound"]),
                           "outbound": count(t["outbound"]), "inbound_pieces": count(t["inbound_pieces"]),
                           "outbound_pieces": count(t["outbound_pieces"])} for t in network.townships]}


class ProgramSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    name_en = fields.String(required=True)
    product = fields.String(required=True)
    county_code = fields.String(required=True)
    year = fields.Integer(required=True)
    target_pieces = fields.Integer(required=True)
    season_start_month = fields.Integer(required=True)
    season_end_month = fields.Integer(required=True)
    perishable = fields.Boolean(required=True)
    deadline_hours = fields.Integer(allow_none=True)
    tier = fields.String(allow_none=True)
    organisation_ids = fields.Function(lambda p: [o.id for o in p.organisations], required=True)


def _printable(value: str) -> None:
    if any(0xD800 <= ord(ch) <= 0xDFFF or ord(ch) < 0x20 for ch in value):
        raise ValidationError("must be printable text (no control characters or lone surrogates)")


SHAOXING_COUNTIES = ["330602", "330603", "330604", "330624", "330681", "330683"]


class ProgramInSchema(Schema):
    name = fields.String(required=True, validate=[validate.Length(min=2, max=100), _printable])
    name_en = fields.String(required=True, validate=[validate.Length(min=2, max=120), _printable])
    product = fields.String(required=True, validate=validate.OneOf([p.value for p in Product]))
    county_code = fields.String(required=True, validate=validate.OneOf(SHAOXING_COUNTIES),
                                metadata={"description": "A Shaoxing county-level code (GB/T 2260)"})
    year = fields.Integer(required=True, strict=True, validate=validate.Range(min=2000, max=2100))
    target_pieces = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=10**12))
    season_start_month = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1, max=12))
    season_end_month = fields.Integer(load_default=12, strict=True, validate=validate.Range(min=1, max=12),
                                      metadata={"description": "Inclusive; before the start month wraps the year"})
    deadline_hours = fields.Integer(load_default=None, allow_none=True, strict=True,
                                    validate=validate.Range(min=1, max=720),
                                    metadata={"description": "Delivery deadline; set it for perishables (and only them)"})
    organisation_ids = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1, max=2147483647)),
                                   load_default=list)


class ProgramOrganisationsInSchema(Schema):
    organisation_ids = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1, max=2147483647)),
                                   required=True, validate=validate.Length(max=10_000),
                                   metadata={"description": "The complete member list (replaces the current one)"})


class ProgramListQuerySchema(Schema):
    year = fields.Integer(validate=validate.Range(min=2000, max=2100))



