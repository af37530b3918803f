"""Template filters: Beijing time, masking display, yuan, locale numbers, plain-word labels."""
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app
from flask_babel import format_currency, format_decimal, get_locale, lazy_gettext as _l

from integrations.carriers import CARRIERS

bp = Blueprint("filters", __name__)

STATUS_LABELS = {
    "pending": _l("Registered, waiting for carrier data"),
    "info_received": _l("Label created, awaiting pickup"),
    "in_transit": _l("In transit"),
    "out_for_delivery": _l("Out for delivery"),
    "available_for_pickup": _l("Waiting at a station or locker"),
    "attempt_fail": _l("Delivery attempt failed"),
    "delivered": _l("Delivered"),
    "exception": _l("Problem with the parcel"),
    "returning": _l("On its way back to the sender"),
    "returned": _l("Returned to the sender"),
    "expired": _l("No news for a long time"),
    "cancelled": _l("Registration cancelled"),
}
STATUS_TONE = {  # CSS class per status: presentation only
    "delivered": "ok", "exception": "bad", "attempt_fail": "bad", "returning": "bad", "returned": "bad",
    "expired": "bad", "cancelled": "bad", "out_for_delivery": "go", "available_for_pickup": "go",
}
STOP_REASON_LABELS = {
    "delivered": _l("delivered"), "returned": _l("returned"), "expired_no_news": _l("no news for 30 days"),
    "invalid_number": _l("invalid number"), "needs_phone": _l("needs the phone's last 4 digits"),
    "cancelled": _l("registration cancelled"),
}
TRACKING_ALERT_LABELS = {
    "no_record_yet": _l("the carrier has no record of this number yet"),
    "tracking_aborted": _l("the carrier stopped tracking this number"),
}
CHANNEL_LABELS = {
    "douyin": _l("Douyin"), "kuaishou": _l("Kuaishou"), "taobao": _l("Taobao"), "pinduoduo": _l("Pinduoduo"),
    "wechat": _l("WeChat"), "offline": _l("Offline"), "other": _l("Other"),
}
DIRECTION_LABELS = {"outbound": _l("Outbound (from the village)"), "inbound": _l("Inbound (to the village)")}
ROLE_LABELS = {"admin": _l("Administrator"), "official": _l("Official"), "member": _l("Member")}
KIND_LABELS = {
    "cooperative": _l("Cooperative"), "farm": _l("Family farm"), "enterprise": _l("Enterprise"),
    "seller": _l("Livestream seller"), "authority": _l("Authority"), "operator": _l("Operator"),
}
EVENT_SOURCE_LABELS = {"poll": _l("carrier (polled)"), "push": _l("carrier (pushed)"), "demo": _l("demo data"),
                       "station": _l("village station")}
REGISTRATION_SOURCE_LABELS = {"import": _l("file or bulk upload"), "form": _l("register form"), "api": _l("API"),
                              "station": _l("village station"), "push": _l("carrier push")}
POLL_OUTCOME_LABELS = {"ok": _l("answered"), "not_found": _l("no data yet"), "invalid_number": _l("invalid number"),
                       "needs_phone": _l("needs the phone's last 4 digits"), "subscribed": _l("push subscribed"),
                       "refused": _l("subscription refused"), "error": _l("call failed")}
TIER_LABELS = {"千万件": _l("10M-piece tier"), "百万件": _l("1M-piece tier"), "十万件": _l("100k-piece tier")}
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
    return format_decimal(value)


@bp.app_template_filter("phone_tail")
def phone_tail(last4: str | None) -> str:
    """The only phone display: the last four digits behind a mask (DOMAIN.md §6)."""
    if not last4:
        return ""
    return "*******" + last4[-4:]


@bp.app_template_filter("status_label")
def status_label(status) -> str:
    """A status in plain words."""
    value = _value(status)
    return str(STATUS_LABELS.get(value, value))


@bp.app_template_filter("status_tone")
def status_tone(status) -> str:
    return STATUS_TONE.get(_value(status), "")


@bp.app_template_filter("label")
def label(value, table: str) -> str:
    """A stored enum value in words: label('channel'), label('role') …"""
    tables = {"channel": CHANNEL_LABELS, "direction": DIRECTION_LABELS, "role": ROLE_LABELS,
              "kind": KIND_LABELS, "stop_reason": STOP_REASON_LABELS, "tier": TIER_LABELS,
              "tracking_alert": TRACKING_ALERT_LABELS,
              "event_source": EVENT_SOURCE_LABELS, "registration_source": REGISTRATION_SOURCE_LABELS,
              "poll_outcome": POLL_OUTCOME_LABELS}
    raw = _value(value)
    return str(tables[table].get(raw, raw))


@bp.app_template_filter("carrier_name")
def carrier_name(code: str | None) -> str:
    """A carrier's name in the page's language."""
    carrier = CARRIERS.get(code or "")
    if carrier is None:
        return code or ""
    return carrier.name_zh if str(get_locale()).startswith("zh") else carrier.name_en


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
