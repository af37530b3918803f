"""Bearer-token authentication and role checks for the API."""
from functools import wraps

from flask import current_app, g, request
from flask_smorest import abort

from shipments.extensions import db
from shipments.models.enums import Role
from shipments.services import access

BEARER = [{"bearerAuth": []}]


def current_caller() -> access.Caller:
    """The authenticated caller of this request (set by auth_required)."""
    return g.caller


def auth_required(blp, *roles: Role):
    """Require a valid bearer token, and one of `roles` when given.

    Apply it outermost (first of a method's decorators), so the caller is
    checked before arguments are parsed: an anonymous request gets 401, never
    a validation report. It also documents the security requirement and the
    401/403 answers in OpenAPI.
    """
    def decorator(func):
        @wraps(func)
        def wrapper(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            scheme, _, plain = header.partition(" ")
            caller = None
            if scheme.lower() == "bearer":
                caller = access.find_caller(db.session, plain.strip(), current_app.config["API_TOKEN_CACHE_SECONDS"])
            if caller is None:
                abort(401, message="需要有效的 API 令牌 (a valid bearer token is required)",
                      headers={"WWW-Authenticate": "Bearer"})
            if roles and caller.role not in roles:
                abort(403, message="无权访问 (your role may not do this)")
            g.caller = caller
            return func(*args, **kwargs)

        wrapper = blp.doc(security=BEARER)(wrapper)
        wrapper = blp.alt_response(401, description="Missing or invalid token")(wrapper)
        if roles:
            wrapper = blp.alt_response(403, description="Role not allowed")(wrapper)
        return wrapper
    return decorator
