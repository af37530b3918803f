"""Log in and out of the web pages; role checks for pages."""
from functools import wraps

from flask import Blueprint, current_app, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from shipments.extensions import db, login_manager
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


@bp.route("/login", methods=["GET", "POST"])
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
    """Log out (POST, so a link elsewhere cannot log the user out)."""
    logout_user()
    return redirect(url_for("public.home"))


def landing_page(user) -> str:
    """Where a user starts after logging in."""
    if user.role == Role.ADMIN:
        return "admin.index"
    if user.role == Role.OFFICIAL:
        return "dashboard.index" if "dashboard.index" in current_app.view_functions else "public.home"
    return "portal.shipments"


def safe_next(target: str | None) -> str | None:
    # Only same-site relative paths: never redirect to another host.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


__all__ = ["bp", "roles_required", "User"]
