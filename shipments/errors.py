"""Error pages: HTML off the API (the API keeps flask-smorest's JSON shape)."""
import logging

from flask import render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


def html_error(exc: HTTPException):
    """Render an HTTP error as an HTML page, keeping werkzeug's headers."""
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    return render_template("errors/error.html", error=exc), exc.code, headers


def register(app):
    """Turn unexpected exceptions into a 500 without leaking a stack trace."""

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return exc
        log.exception("unhandled error on %s %s", request.method, request.path)
        error = InternalServerError()
        if request.path.startswith("/api/"):
            return {"code": 500, "status": error.name, "message": "服务器内部错误 (internal error)", "errors": {}}, 500
        return html_error(error)
