"""The JSON API under /api/v1, documented by OpenAPI 3 at /api/docs."""
from flask import request
from marshmallow import fields
from flask_smorest import Api as SmorestApi

from shipments import errors, input_guard
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


DEFAULT_MESSAGES = {
    400: "请求有误", 401: "需要登录凭证", 403: "无权访问", 404: "找不到该地址或对象", 405: "不支持该方法",
    413: "请求内容过大", 415: "不支持的内容类型", 422: "输入有误，见 errors", 429: "请求过于频繁，请稍后再试",
}


class Api(SmorestApi):
    """flask-smorest's Api, with one error shape and HTML errors off the API."""

    def handle_http_exception(self, error):
        if not request.path.startswith("/api/"):
            return errors.html_error(error)
        if error.code == 413 and not getattr(error, "data", None):
            # werkzeug's own 413 (body over the route's limit) carries no message.
            error.data = {"message": input_guard.too_large_message(request.max_content_length or 0)}
        payload, status, headers = super().handle_http_exception(error)
        if isinstance(payload, dict) and not payload.get("message"):
            # Routing 404s, webargs' 422s (fields in `errors`): every error says something.
            payload["message"] = f"{DEFAULT_MESSAGES.get(error.code, error.name)} ({error.name})"
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
