"""Languages: pick the locale per request, switch it from any page."""
from flask import Blueprint, current_app, redirect, request, url_for
from flask_babel import refresh
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import DataRequired

bp = Blueprint("i18n", __name__)

LANG_COOKIE = "lang"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600


def select_locale() -> str:
    """The chosen language (cookie, then the user's setting), Chinese by default."""
    languages = current_app.config["LANGUAGES"]
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    """Every page shows Beijing time."""
    return current_app.config["DISPLAY_TIMEZONE"]


@bp.before_app_request
def forget_cached_locale():
    """Choose the locale afresh for each request (an app context may outlive one request)."""
    refresh()


class LanguageForm(FlaskForm):
    lang = HiddenField(validators=[DataRequired()])
    next = HiddenField()


@bp.app_context_processor
def language_switch():
    """Give every template the language switch (a tiny CSRF-protected form)."""
    current = select_locale()
    others = {code: name for code, name in current_app.config["LANGUAGES"].items() if code != current}
    return {"language_form": LanguageForm, "other_languages": others, "current_locale": current,
            "html_lang": "zh-CN" if current.startswith("zh") else current.replace("_", "-")}


@bp.post("/lang")
def switch_language():
    """Remember the chosen language in a cookie and go back to the page."""
    form = LanguageForm()
    if not form.validate_on_submit() or form.lang.data not in current_app.config["LANGUAGES"]:
        return redirect(url_for("public.home")), 303
    from shipments.extensions import db
    from shipments.services import users
    from shipments.web.auth import safe_next

    if current_user.is_authenticated:
        users.set_locale(current_user, form.lang.data)
        db.session.commit()
    response = redirect(safe_next(form.next.data) or url_for("public.home"), 303)
    response.set_cookie(LANG_COOKIE, form.lang.data, max_age=LANG_COOKIE_MAX_AGE, httponly=True,
                        samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response
