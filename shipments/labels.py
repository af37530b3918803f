"""Words for stored codes: the one label function for pages, charts and exports, in either language.

Every code a person may see (a status, channel, role, carrier, provider …) goes
through `label()`; the words are Flask-Babel messages, so a page shows them in
its own language and an export in the language it was asked for.
"""
from contextlib import nullcontext

from flask import has_app_context
from flask_babel import force_locale, get_locale, lazy_gettext as _l

from integrations.carriers import CARRIERS

LOCALES = {"zh": "zh_Hans_CN", "en": "en"}

STATUS = {
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
STOP_REASON = {
    "delivered": _l("delivered"), "returned": _l("returned"), "expired_no_news": _l("no news for 30 days"),
    "invalid_number": _l("invalid number"), "needs_phone": _l("needs the phone's last 4 digits"),
    "cancelled": _l("registration cancelled"),
}
TRACKING_ALERT = {
    "no_record_yet": _l("the carrier has no record of this number yet"),
    "tracking_aborted": _l("the carrier stopped tracking this number"),
}
CHANNEL = {
    "douyin": _l("Douyin"), "kuaishou": _l("Kuaishou"), "taobao": _l("Taobao"), "pinduoduo": _l("Pinduoduo"),
    "wechat": _l("WeChat"), "offline": _l("Offline"), "other": _l("Other"),
}
DIRECTION = {"outbound": _l("Outbound (from the village)"), "inbound": _l("Inbound (to the village)")}
ROLE = {"admin": _l("Administrator"), "official": _l("Official"), "member": _l("Member")}
KIND = {
    "cooperative": _l("Cooperative"), "farm": _l("Family farm"), "enterprise": _l("Enterprise"),
    "seller": _l("Livestream seller"), "authority": _l("Authority"), "operator": _l("Operator"),
}
TIER = {"千万件": _l("10M-piece tier"), "百万件": _l("1M-piece tier"), "十万件": _l("100k-piece tier")}
PRODUCT = {
    "pearl": _l("Pearls"), "tea": _l("Tea"), "bayberry": _l("Bayberries"), "peach_plum": _l("Peach-shaped plums"),
    "green_plum": _l("Green plums"), "torreya": _l("Torreya nuts"), "other": _l("Other"),
}
STATION_LEVEL = {"county": _l("County"), "township": _l("Township"), "village": _l("Village")}
STATION_KIND = {
    "co_distribution_centre": _l("Co-distribution centre"), "village_station": _l("Village station"),
    "passenger_freight_mail": _l("Passenger-freight-mail stop"),
}
ROUTE_KIND = {"passenger_freight_mail": _l("Passenger-freight-mail route (客货邮)"),
              "common_prosperity": _l("Common-prosperity postal route (共富邮路)")}
PROVIDER = {
    "kuaidi100": _l("Kuaidi100 (aggregator)"), "kdniao": _l("Kdniao (aggregator)"),
    "17track": _l("17TRACK (aggregator)"), "sandbox": _l("Demo carrier (simulated)"),
    "unassigned": _l("Not yet assigned to a tracking service"),
}
SUBSCRIPTION = {"none": _l("Not subscribed (checked by polling)"), "subscribed": _l("Subscribed"),
                "failed": _l("Subscription failed")}
SUBSTATUS = {
    "PICKED_UP": _l("picked up"), "ARRIVED_DESTINATION_CITY": _l("arrived in the destination city"),
    "ARRIVED_DESTINATION_COUNTRY": _l("arrived in the destination country"), "DEPARTED_ORIGIN": _l("left the origin"),
    "REDIRECTED": _l("redirected"), "TRANSFERRED": _l("handed to another carrier"), "CUSTOMS": _l("customs"),
    "SIGNED": _l("signed for"), "SIGNED_AFTER_EXCEPTION": _l("signed for after a problem"),
    "SIGNED_BY_PROXY": _l("signed for by someone else"),
    "COLLECTED_FROM_LOCKER_OR_STATION": _l("collected from a locker or station"),
    "NOT_SIGNED_TIMEOUT": _l("not signed for in time"), "NO_UPDATE_TIMEOUT": _l("no update for a long time"),
    "REFUSED": _l("refused"), "PICKUP_MISSED": _l("not collected from the locker or station"),
    "RECIPIENT_UNREACHABLE": _l("recipient unreachable"), "OUT_OF_AREA": _l("outside the delivery area"),
    "DELAYED": _l("delayed"), "DAMAGED": _l("damaged"), "CANCELLED": _l("cancelled"), "LOST": _l("lost"),
    "INTERCEPTED": _l("intercepted"), "refused": _l("refused"),
}
EVENT_SOURCE = {"poll": _l("carrier (polled)"), "push": _l("carrier (pushed)"), "demo": _l("demo data"),
                "station": _l("village station")}
REGISTRATION_SOURCE = {"import": _l("file or bulk upload"), "form": _l("register form"), "api": _l("API"),
                       "station": _l("village station"), "push": _l("carrier push")}
POLL_OUTCOME = {"ok": _l("answered"), "not_found": _l("no data yet"), "invalid_number": _l("invalid number"),
                "needs_phone": _l("needs the phone's last 4 digits"), "subscribed": _l("push subscribed"),
                "refused": _l("subscription refused"), "error": _l("call failed")}
# The edit history (services/history.py): the columns a registration's owner may change, and through what.
CHANGE_FIELD = {
    "phone_last4": _l("Phone's last 4 digits"), "program_id": _l("Program"), "channel": _l("Sales channel"),
    "direction": _l("Direction"), "destination_province_code": _l("Destination province"),
    "destination_city": _l("Destination city"), "pieces": _l("Pieces"), "order_ref": _l("Order reference"),
    "status": _l("Status"), "cancel_reason": _l("Reason for cancelling"),
}
CHANGE_SOURCE = {"form": _l("portal form"), "api": _l("API"), "paste": _l("seller paste"),
                 "import": _l("file or bulk upload")}
UNKNOWN = _l("Unknown")
# How a list of names and a list of clauses are joined (、 and ； in Chinese).
LIST_SEPARATOR = _l(", ")
CLAUSE_SEPARATOR = _l("; ")
TABLES = {
    "status": STATUS, "stop_reason": STOP_REASON, "channel": CHANNEL, "direction": DIRECTION, "role": ROLE,
    "kind": KIND, "tier": TIER, "product": PRODUCT, "station_level": STATION_LEVEL, "station_kind": STATION_KIND,
    "provider": PROVIDER, "subscription": SUBSCRIPTION, "substatus": SUBSTATUS, "tracking_alert": TRACKING_ALERT,
    "event_source": EVENT_SOURCE, "registration_source": REGISTRATION_SOURCE, "poll_outcome": POLL_OUTCOME,
    "change_field": CHANGE_FIELD, "change_source": CHANGE_SOURCE,
}


def _in(lang: str | None):
    """Words in the given language ('zh'/'en' or a locale), else the page's.

    Flask-Babel keeps its locale on the app context: without one, force_locale
    does nothing and every message silently comes out in English, so say so.
    """
    if not has_app_context():
        raise RuntimeError("messages need an app context (CLI commands and jobs run inside one)")
    return force_locale(LOCALES.get(lang, lang)) if lang else nullcontext()


def text(message, lang: str | None = None, **params) -> str:
    """A Flask-Babel message in the given language (else the page's), its %(name)s placeholders filled."""
    with _in(lang):
        words = str(message)
    return words % params if params else words


def join(items, lang: str | None = None, clauses: bool = False) -> str:
    """Names (or, with clauses, whole clauses) joined as the language writes a list."""
    return text(CLAUSE_SEPARATOR if clauses else LIST_SEPARATOR, lang).join(items)


def is_zh(lang: str | None = None) -> bool:
    """Tell whether words come out in Chinese (the given language, else the page's)."""
    return (lang or str(get_locale() or "zh")).startswith("zh")


def label(value, kind: str, lang: str | None = None) -> str:
    """A stored code in words ('' for nothing); lang 'zh'/'en' for exports, else the page's language."""
    raw = getattr(value, "value", value)
    if raw in (None, ""):
        return ""
    if kind == "carrier":
        return carrier_name(raw, lang)
    words = TABLES[kind].get(raw)
    with _in(lang):
        return str(words if words is not None else UNKNOWN)


def carrier_name(code: str | None, lang: str | None = None) -> str:
    """A carrier's name in the given language (else the page's)."""
    carrier = CARRIERS.get(code or "")
    if carrier is None:
        with _in(lang):
            return str(UNKNOWN) if code else ""
    return carrier.name_zh if is_zh(lang) else carrier.name_en
