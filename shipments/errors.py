"""Error pages for the HTML side (the API blueprint has its own JSON errors)."""
from flask import render_template, request
from werkzeug.exceptions import HTTPException


def register(app):
    """Render HTTP errors as HTML pages, or as JSON for API paths."""

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith("/api/"):
            body = {"code": exc.code, "status": exc.name, "message": exc.description, "errors": {}}
            return body, exc.code, _kept_headers(exc)
        return render_template("errors/error.html", error=exc), exc.code, _kept_headers(exc)


def _kept_headers(exc: HTTPException) -> dict:
    # Keep werkzeug's own headers (Allow on 405, Retry-After on 429).
    headers = dict(exc.get_headers())
    headers.pop("Content-Type", None)
    return headers
