"""Template filters: Beijing time, masking display, yuan, locale numbers, plain-word labels."""
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app
from babel import Locale
from babel.numbers import format_decimal as babel_format_decimal
from flask_babel import format_currency, format_decimal, get_locale, lazy_gettext as _l

from integrations.carriers import CARRIERS
from shipments import labels

bp = Blueprint("filters", __name__)

# The words live in shipments/labels.py (one label function for pages, charts and exports).
STATUS_LABELS, STOP_REASON_LABELS, CHANNEL_LABELS = labels.STATUS, labels.STOP_REASON, labels.CHANNEL
DIRECTION_LABELS, ROLE_LABELS, KIND_LABELS, TIER_LABELS = labels.DIRECTION, labels.ROLE, labels.KIND, labels.TIER
TRACKING_ALERT_LABELS = labels.TRACKING_ALERT
STATUS_TONE = {  # CSS class per status: presentation only
    "delivered": "ok", "exception": "bad", "attempt_fail": "bad", "returning": "bad", "returned": "bad",
    "expired": "bad", "cancelled": "bad", "out_for_delivery": "go", "available_for_pickup": "go",
}
EVENT_SOURCE_LABELS, REGISTRATION_SOURCE_LABELS = labels.EVENT_SOURCE, labels.REGISTRATION_SOURCE
POLL_OUTCOME_LABELS = labels.POLL_OUTCOME
ERROR_WORDS = {
    400: (_l("Bad request"), _l("The form was incomplete or has expired. Go back, reload the page and try again.")),
    403: (_l("Not allowed"), _l("Your account may not open this page.")),
    404: (_l("Not found"), _l("There is no such page or parcel.")),
    405: (_l("Not allowed"), _l("This page cannot be used like that.")),
    413: (_l("File too large"), _l("The upload is larger than allowed.")),
    429: (_l("Too many requests"), _l("Please wait a moment and try again.")),
    500: (_l("Server error"), _l("Something went wrong on our side. Please try again later.")),
}


def _value(enum_or_str) -> str:
    return getattr(enum_or_str, "value", enum_or_str) or ""


@bp.app_template_filter("beijing")
def beijing(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An aware datetime (or ISO text from a schema) shown in Beijing time ('' when missing)."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])).strftime(fmt)


@bp.app_template_filter("yuan")
def yuan(value: Decimal | None) -> str:
    """Money in yuan, formatted for the locale (exact Decimal in, never float)."""
    if value is None:
        return ""
    return format_currency(Decimal(value), "CNY")


@bp.app_template_filter("number")
def number(value) -> str:
    """A count or quantity with the locale's grouping."""
    if value is None:
        return ""
    return locale_decimal(value)


@bp.app_template_filter("percent")
def percent(value) -> str:
    """A percentage with the locale's digits, or a dash when there is nothing to divide."""
    if value is None:
        return "—"
    return f"{locale_decimal(value)}%"


THOUSANDTH = Decimal("0.001")


def locale_decimal(value) -> str:
    """flask_babel.format_decimal(value), with the common case done directly.

    Babel parses the pattern and looks up the locale's symbols on every call:
    the dashboard formats ~2,000 numbers a page and spent ~50 ms on it. For a
    locale whose pattern is the plain #,##0.### (zh_Hans_CN and en both) the
    same text comes from Python's own grouping (half-even rounding to three
    decimals, as Babel's); a test compares both on many values.
    """
    if not _plain_locale(str(get_locale())) or isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return format_decimal(value)
    if isinstance(value, int):
        text = f"{value:,}"
    else:
        exact = Decimal(str(value)) if isinstance(value, float) else value
        if not exact.is_finite():
            return format_decimal(value)
        text = f"{exact.quantize(THOUSANDTH, ROUND_HALF_EVEN):,f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        if text == "-0":
            return format_decimal(value)
    return text


@lru_cache(maxsize=None)
def _plain_locale(locale_name: str) -> bool:
    """Whether Babel writes this locale's decimals as Python does (#,##0.### with "," "." "-")."""
    locale = Locale.parse(locale_name)
    return (locale.decimal_formats.get(None).pattern == "#,##0.###"
            and babel_format_decimal(Decimal("-1234567.8915"), locale=locale) == "-1,234,567.892")


@bp.app_template_filter("phone_tail")
def phone_tail(last4: str | None) -> str:
    """The only phone display: the last four digits behind a mask (DOMAIN.md §6)."""
    if not last4:
        return ""
    return "*******" + last4[-4:]


@bp.app_template_filter("status_label")
def status_label(status) -> str:
    """A status in plain words."""
    return labels.label(status, "status")


@bp.app_template_filter("status_tone")
def status_tone(status) -> str:
    return STATUS_TONE.get(_value(status), "")


@bp.app_template_filter("label")
def label(value, table: str) -> str:
    """A stored enum value in words: label('channel'), label('role') …"""
    return labels.label(value, table)


@bp.app_template_filter("carrier_name")
def carrier_name(code: str | None) -> str:
    """A carrier's name in the page's language."""
    return labels.carrier_name(code)


@bp.app_template_global("carrier_choices")
def carrier_choices() -> list[tuple[str, str]]:
    """(code, name) for every known carrier, for select boxes."""
    return [(code, carrier_name(code)) for code in CARRIERS]


@bp.app_context_processor
def navigation():
    """The endpoints that exist, so the menu links only to pages that are installed."""
    return {"view_names": current_app.view_functions.keys()}


@bp.app_template_global("error_words")
def error_words(code: int) -> tuple[str, str]:
    """A translated title and explanation for an HTTP error code."""
    title, text = ERROR_WORDS.get(code, ERROR_WORDS[500] if code >= 500 else ERROR_WORDS[400])
    return str(title), str(text)



@bp.app_template_filter("iso")
def iso(value: datetime | str | None) -> str:
    """Machine-readable time for <time datetime=…> (schemas already give ISO text)."""
    if not value:
        return ""
    return value if isinstance(value, str) else value.isoformat()
