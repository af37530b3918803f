"""The JSON API under /api/v1, documented by OpenAPI 3 at /api/docs."""
from flask import request
from marshmallow import fields
from flask_smorest import Api as SmorestApi

from shipments import errors
from shipments.extensions import csrf, limiter

API_SETTINGS = {
    "API_TITLE": "越乡寄递 Yuexiang Track API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/docs",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "/swagger",
    "OPENAPI_SWAGGER_UI_URL": "/static/vendor/swagger-ui/",
    "OPENAPI_SWAGGER_UI_CONFIG": {"validatorUrl": None},
    "OPENAPI_REDOC_PATH": "/redoc",
    "OPENAPI_REDOC_URL": "/static/vendor/redoc/redoc.standalone.js",
    "API_SPEC_OPTIONS": {
        "info": {"description": "农产品寄递登记、跟踪与项目报送。Bearer tokens come from `flask tokens create`."},
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    },
}


class Api(SmorestApi):
    """flask-smorest's Api, with one error shape and HTML errors off the API."""

    def handle_http_exception(self, error):
        if not request.path.startswith("/api/"):
            return errors.html_error(error)
        payload, status, headers = super().handle_http_exception(error)
        headers = dict(headers or {})
        # Keep werkzeug's headers (Allow on 405, Retry-After on 429).
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                headers.setdefault(name, value)
        return payload, status, headers


api = Api()


def init_app(app) -> None:
    """Configure and attach the API and its blueprints."""
    for key, value in API_SETTINGS.items():
        app.config.setdefault(key, value)
    api.init_app(app)
    api.ma_plugin.converter.add_attribute_function(_decimal_as_string)
    from shipments.schemas.shipments import ProvenanceSchema
    if "Provenance" not in api.spec.components.schemas:
        api.spec.components.schema("Provenance", schema=ProvenanceSchema)
    limiter.init_app(app)
    if not (app.config.get("RATELIMIT_DEFAULT") or app.config.get("RATELIMIT_APPLICATION")):
        # Limits are declared on the views that have them (public tracking) and
        # checked there; with no default or application-wide limit, the
        # extension's check before every request only costs time.
        hooks = app.before_request_funcs.get(None, [])
        if limiter._check_request_limit in hooks:  # absent when RATELIMIT_ENABLED is off
            hooks.remove(limiter._check_request_limit)
    for blueprint in blueprints():
        api.register_blueprint(blueprint)
        # Bearer tokens, not cookies, authenticate the API: no CSRF there.
        csrf.exempt(blueprint)


def _decimal_as_string(converter, field, **kwargs) -> dict:
    """Document Decimal(as_string=True) as the string it is dumped as (exact yuan)."""
    if isinstance(field, fields.Decimal) and field.as_string:
        return {"type": "string", "format": "decimal"}
    return {}


def blueprints():
    """The API's blueprints, one module per resource."""
    from shipments.api.imports import blp as import_batches
    from shipments.api.me import blp as me
    from shipments.api.network import blp as network
    from shipments.api.programs import blp as programs
    from shipments.api.push import blp as push
    from shipments.api.reports import blp as reports
    from shipments.api.shipments import blp as shipments
    from shipments.api.track import blp as track
    from shipments.api.webhooks import blp as webhooks

    return [me, shipments, track, programs, reports, push, network, import_batches, webhooks]
