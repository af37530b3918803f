"""Schemas for callers and tokens."""
from marshmallow import Schema, fields


class CallerSchema(Schema):
    organisation_id = fields.Integer(required=True)
    organisation_name = fields.String(required=True)
    role = fields.String(required=True)
    county_code = fields.String(allow_none=True, metadata={"description": "an official limited to one county"})
