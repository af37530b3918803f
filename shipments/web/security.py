"""Response headers for the HTML pages: everything from this server, nothing framed."""
from flask import Blueprint, current_app, request

bp = Blueprint("security", __name__)

# Pages load only our own CSS, JS and images: no CDN, no inline scripts.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)


@bp.after_app_request
def secure_headers(response):
    """Add CSP and friends to every page off the API (the API docs bring their own scripts)."""
    if request.path.startswith("/api/"):
        return response
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response
