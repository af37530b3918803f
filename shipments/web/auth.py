"""Log in and out of the web pages; role checks for pages."""
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, current_app, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from shipments.extensions import db, limiter, login_manager
from shipments.models import User
from shipments.models.enums import Role
from shipments.services import users

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(user_id: str):
    return users.get_active_user(db.session, user_id)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=60)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


def roles_required(*roles: Role):
    """Require a logged-in user with one of these roles (403 otherwise)."""
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapper
    return decorator


def _account_key() -> str:
    return "login-account:" + (request.form.get("username") or "").strip().lower()[:60]


def _failed_login(response) -> bool:
    # Only wrong passwords count: a user who types it right is never slowed down.
    return response.status_code == 400


@bp.route("/login", methods=["GET", "POST"])
# Per address and per account (a stranger guessing one account from many
# addresses, or many accounts from one address); failures only.
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"], deduct_when=_failed_login)
@limiter.limit(lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"], key_func=_account_key, methods=["POST"],
               deduct_when=_failed_login)
def login():
    """Show the login form; log the user in on valid credentials."""
    form = LoginForm()
    if form.validate_on_submit():
        user = users.authenticate(db.session, form.username.data, form.password.data)
        if user is not None:
            login_user(user)
            return redirect(safe_next(request.args.get("next")) or url_for(landing_page(user)))
        flash(_("Wrong username or password."), "error")
    return render_template("auth/login.html", form=form), 400 if request.method == "POST" else 200


@bp.post("/logout")
@login_required
def logout():
    """Log out (POST, so a link elsewhere cannot log the user out); a copy of the cookie stops working too."""
    users.end_sessions(current_user)
    db.session.commit()
    logout_user()
    return redirect(url_for("public.home"))


def landing_page(user) -> str:
    """Where a user starts after logging in."""
    if user.role == Role.ADMIN:
        return "admin.index"
    if user.role == Role.OFFICIAL:
        return "dashboard.index" if "dashboard.index" in current_app.view_functions else "public.home"
    return "portal.shipments"


@bp.errorhandler(429)
def too_many_attempts(exc):
    """The login form again, saying why and for how long."""
    flash(_("Too many failed logins. Please wait a few minutes and try again."), "error")
    headers = {k: v for k, v in exc.get_headers() if k.lower() == "retry-after"}
    return render_template("auth/login.html", form=LoginForm()), 429, headers


def safe_next(target: str | None) -> str | None:
    """`target` when it is a path on this site, else None (never redirect to another host)."""
    # Browsers drop tabs and newlines inside URLs ("/\t/evil.example" is
    # "//evil.example") and read backslashes as slashes: refuse all of them.
    if not target or not target.startswith("/") or len(target) > 2000:
        return None
    if any(ch in target for ch in "\\") or any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return None
    return target


__all__ = ["bp", "roles_required", "User"]
