"""Shipments: the one set of input rules, registration, and scoped reads.

The rules (`FIELDS`, `clean_row`) are plain functions so that a 100,000-row
import can apply them at a few microseconds a row; the API's input schema
wraps the same functions (shipments/schemas/shipments.py).
"""
import base64
import binascii
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, Callable

from sqlalchemy import Select, and_, bindparam, func, or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from integrations.carriers import CARRIERS
from integrations.detect import detect
from flask_babel import lazy_gettext as _l

from integrations.numbers import is_s10_shaped, normalise_number, s10_valid
from shipments import labels
from shipments.db import utcnow
from shipments.models import Division, ImportBatch, Organisation, Program, Province, Shipment, TrackingEvent
from shipments.models.enums import (
    TERMINAL_STATUSES, Channel, Direction, RegistrationSource, Role, ShipmentStatus, StopReason,
)
from shipments.models.programs import program_organisations
from shipments.services import history, timelines, tracking
from shipments.services import webhooks
from shipments.services.carriers import choose_provider

# ---------------------------------------------------------------- messages
# code -> message (Flask-Babel: English msgid, Chinese in messages.po); %(placeholders)s come from the
# problem's params, which hold codes and numbers, never words (see _words).
MESSAGES = {
    "required": _l("is required"),
    "number_format": _l("must be 6–40 letters and digits"),
    "number_check_digit": _l("has a wrong UPU S10 check digit"),
    "carrier_unknown": _l("unknown carrier: %(value)s"),
    "carrier_undetected": _l("the number fits no carrier's format: check it is complete, or give the carrier"),
    "carrier_ambiguous": _l("carrier is ambiguous (%(candidates)s): give it"),
    "number_shape": _l("%(carrier)s numbers are %(shape)s; %(number)s is not"),
    "number_order_ref": _l("%(number)s looks like a %(platform)s order number, not a tracking number: give the "
                           "number on the parcel label%(expect)s"),
    "number_concatenated": _l("looks like two numbers run together (%(first)s and %(second)s): one per row"),
    "phone_format": _l("must be the last 4 digits of the phone"),
    "program_unknown": _l("unknown program: %(value)s"),
    "program_not_joined": _l("your organisation is not in this program: %(value)s"),
    "channel_unknown": _l("unknown channel: %(value)s"),
    "direction_unknown": _l("must be outbound (出村) or inbound (进村)"),
    "province_unknown": _l("unknown province: %(value)s"),
    "division_unknown": _l("unknown Shaoxing county or township: %(value)s"),
    "integer": _l("must be a whole number"),
    "pieces_range": _l("must be a whole number from 1 to %(max)s"),
    "decimal": _l("must be a number"),
    "weight_range": _l("must be a number from 0 to %(max)s kg, at most 3 decimals"),
    "value_range": _l("must be a number from 0 to %(max)s yuan, at most 2 decimals"),
    "too_long": _l("is too long (at most %(max)s characters)"),
    "control_chars": _l("contains control characters"),
    "duplicate_in_file": _l("same number as row %(first)s"),
    "registered_by_other_org": _l("this number is registered by another organisation"),
    "not_an_object": _l("must be an object"),
    "type": _l("has the wrong type"),
}
CANDIDATE = _l("%(carrier)s %(confidence)s")
EXPECTED_SHAPE = _l(" (%(carrier)s numbers are %(shape)s)")
PLATFORMS = {"douyin": _l("Douyin"), "pinduoduo": _l("Pinduoduo"), "platform": _l("shop platform")}

LANGUAGES = ("zh", "en")


def _words(params: dict, lang: str | None) -> dict:
    """A problem's params with its codes put in words of the language."""
    zh = labels.is_zh(lang)
    # Reports kept before these messages moved to Flask-Babel hold both languages' words (carrier_zh, …).
    words = {k[:-3]: v for k, v in params.items() if k[-3:] == ("_zh" if zh else "_en")}
    words.update((k, v) for k, v in params.items() if k[-3:] not in ("_zh", "_en"))
    code = params.get("carrier_code")
    if code is not None:
        words["carrier"] = labels.carrier_name(code, lang)
        words["shape"] = CARRIERS[code].shape_zh if zh else CARRIERS[code].shape_en
    if isinstance(params.get("candidates"), list):
        words["candidates"] = labels.join(
            (labels.text(CANDIDATE, lang, carrier=labels.carrier_name(c, lang), confidence=_percent(confidence))
             for c, confidence in params["candidates"]), lang)
    if "platform_key" in params:
        words["platform"] = labels.text(PLATFORMS[params["platform_key"]], lang)
        words["expect"] = labels.text(EXPECTED_SHAPE, lang, **words) if code is not None else ""
    return words


def message(code: str, lang: str | None = "zh", **params) -> str:
    """The text of a problem code in a language (zh or en; None: the page's)."""
    return labels.text(MESSAGES[code], lang, **_words(params, lang))


class Invalid(ValueError):
    """A value that breaks a rule: a message code and its parameters."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Problem:
    field: str
    code: str
    params: dict = field(default_factory=dict)

    def text(self, lang: str) -> str:
        return message(self.code, lang, **self.params)


# ------------------------------------------------------------ text helpers
_SPACES = re.compile(r"\s+")
_NUMBER_OK = re.compile(r"^[A-Z0-9]{6,40}$")
_PHONE_SHAPE = re.compile(r"^[+\d][\d*xX\-() ]*\d{4}$")
_MASKED_TAIL = re.compile(r"^[+\d*xX\-() ]*[*xX][\d\-() ]{0,3}$")  # masked where the last 4 digits would be


def clean_text(value: Any) -> str:
    """Half-width, trimmed, single-spaced text ('' for None)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # spreadsheets hand whole numbers back as floats
    text = value if isinstance(value, str) else str(value)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).replace("\u3000", " ")
    if "  " in text or "\t" in text or "\n" in text:
        text = _SPACES.sub(" ", text)
    return text.strip()


def _plain_number_text(text: str) -> str:
    if text.isascii() and "," not in text and " " not in text and "k" not in text and "K" not in text:
        return text  # nothing below can be in it (the fast path of nearly every cell)
    for junk in (",", "，", " ", "¥", "￥", "元", "kg", "KG", "Kg", "公斤", "件"):
        if junk in text:
            text = text.replace(junk, "")
    return text


# ------------------------------------------------------ reference look-ups
CHANNEL_WORDS = {
    "抖音": Channel.DOUYIN, "抖店": Channel.DOUYIN, "快手": Channel.KUAISHOU, "淘宝": Channel.TAOBAO,
    "天猫": Channel.TAOBAO, "拼多多": Channel.PINDUODUO, "微信": Channel.WECHAT, "微店": Channel.WECHAT,
    "小程序": Channel.WECHAT, "线下": Channel.OFFLINE, "其他": Channel.OTHER, "其它": Channel.OTHER,
}
DIRECTION_WORDS = {"出村": Direction.OUTBOUND, "寄出": Direction.OUTBOUND, "进村": Direction.INBOUND,
                   "寄入": Direction.INBOUND}


def _carrier_words() -> dict[str, str]:
    words = {}
    for code, carrier in CARRIERS.items():
        for word in (code, carrier.name_zh, carrier.name_en, carrier.kuaidi100, carrier.kdniao):
            if word:
                words[word.lower()] = code
        # 中通快递 → 中通, 顺丰速运 → 顺丰, 极兔速递 → 极兔
        for suffix in ("快递包裹", "快递", "速运", "速递"):
            if carrier.name_zh.endswith(suffix):
                words[carrier.name_zh[: -len(suffix)].lower()] = code
    words.update({"邮政": "chinapost", "中国邮政": "chinapost", "邮政ems": "ems", "ems": "ems", "顺丰快递": "sf",
                  "京东": "jd", "京东物流": "jd", "德邦": "deppon", "百世": "best", "百世汇通": "best"})
    return words


CARRIER_WORDS = _carrier_words()


@dataclass
class Lookups:
    """Reference data an import needs, read once: programs, provinces, divisions."""

    organisation_id: int
    default_origin: str | None
    programs: dict[str, int]  # id as text and name -> id
    joined: set[int] | None  # None: any program (admins)
    provinces: dict[str, str]  # code, name, short name -> code
    divisions: dict[str, str]  # code, name -> code
    default_program_id: int | None = None

    @classmethod
    def load(cls, session: Session, organisation_id: int, any_program: bool = False,
             default_program_id: int | None = None) -> "Lookups":
        """Read the look-up tables for one organisation's registrations."""
        programs = {}
        for pid, name in session.execute(select(Program.id, Program.name)):
            programs[str(pid)] = pid
            programs[name] = pid
        joined = None
        if not any_program:
            joined = set(session.scalars(select(program_organisations.c.program_id).where(
                program_organisations.c.organisation_id == organisation_id)))
        provinces = {}
        for code, name, short in session.execute(select(Province.code, Province.name, Province.short_name)):
            provinces.update({code: code, name: code, short: code})
            for suffix in ("省", "市", "自治区", "壮族自治区", "回族自治区", "维吾尔自治区", "特别行政区"):
                if name.endswith(suffix):
                    provinces.setdefault(name[: -len(suffix)], code)
        divisions = {}
        for code, name in session.execute(select(Division.code, Division.name)):
            divisions[code] = code
            divisions.setdefault(name, code)
        origin = session.scalar(select(Organisation.county_code).where(Organisation.id == organisation_id))
        return cls(organisation_id, origin, programs, joined, provinces, divisions, default_program_id)


# ----------------------------------------------------------- field parsers
def parse_number(text: str, lookups: Lookups) -> str:
    number = normalise_number(text)
    if not _NUMBER_OK.match(number):
        raise Invalid("number_format")
    return number


def parse_carrier(text: str, lookups: Lookups) -> str:
    code = CARRIER_WORDS.get(text.lower()) or CARRIER_WORDS.get(text.lower().replace(" ", ""))
    if code is None:
        raise Invalid("carrier_unknown", value=text[:40])
    return code


def parse_phone_last4(text: str, lookups: Lookups) -> str:
    # Accepts 4 digits, a masked or full phone (139****5678, 13912345678) or a
    # platform virtual number (13800138000-1234): only the last 4 digits are kept.
    if len(text) == 4 and text.isdigit():
        return text
    if len(text) > 24 or not _PHONE_SHAPE.match(text):
        raise Invalid("phone_format")
    return text[-4:]


def parse_program(text: str, lookups: Lookups) -> int:
    program_id = lookups.programs.get(text)
    if program_id is None:
        raise Invalid("program_unknown", value=text[:40])
    if lookups.joined is not None and program_id not in lookups.joined:
        raise Invalid("program_not_joined", value=text[:40])
    return program_id


_CHANNEL_VALUES = {c.value: c for c in Channel}  # a dict look-up: Channel(text) costs ≈ 50 µs a row
_DIRECTION_VALUES = {d.value: d for d in Direction}


def parse_channel(text: str, lookups: Lookups) -> Channel:
    channel = CHANNEL_WORDS.get(text) or _CHANNEL_VALUES.get(text.lower())
    if channel is None:
        raise Invalid("channel_unknown", value=text[:20])
    return channel


def parse_direction(text: str, lookups: Lookups) -> Direction:
    direction = DIRECTION_WORDS.get(text) or _DIRECTION_VALUES.get(text.lower())
    if direction is None:
        raise Invalid("direction_unknown")
    return direction


def parse_province(text: str, lookups: Lookups) -> str:
    code = lookups.provinces.get(text)
    if code is None:
        raise Invalid("province_unknown", value=text[:20])
    return code


def parse_division(text: str, lookups: Lookups) -> str:
    code = lookups.divisions.get(text)
    if code is None:
        raise Invalid("division_unknown", value=text[:20])
    return code


# Realistic bounds for one express waybill of farm products (messages state them).
MAX_PIECES = 100
MAX_WEIGHT_KG = 100  # heavier goes by freight, not express
MAX_VALUE_YUAN = 100_000


def parse_pieces(text: str, lookups: Lookups) -> int:
    text = _plain_number_text(text)
    if text.endswith(".0"):
        text = text[:-2]
    # −3, 0, 2.5 and "abc" all get the same answer: what a piece count may be.
    if not _WHOLE_NUMBER.match(text) or not 1 <= int(text) <= MAX_PIECES:
        raise Invalid("pieces_range", max=MAX_PIECES)
    return int(text)


_WHOLE_NUMBER = re.compile(r"^[+-]?\d+$")
_QUANTUM = {places: Decimal(1).scaleb(-places) for places in (2, 3)}


def _decimal(text: str, places: int, ceiling: int, code: str) -> Decimal:
    try:
        value = Decimal(_plain_number_text(text))
    except InvalidOperation:
        raise Invalid(code, max=f"{ceiling:,}") from None
    if not value.is_finite() or value < 0 or value > ceiling:
        raise Invalid(code, max=f"{ceiling:,}")
    rounded = value.quantize(_QUANTUM[places])
    if value != rounded:
        raise Invalid(code, max=f"{ceiling:,}")
    return rounded


def parse_weight(text: str, lookups: Lookups) -> Decimal:
    return _decimal(text, 3, MAX_WEIGHT_KG, "weight_range")


def parse_value(text: str, lookups: Lookups) -> Decimal:
    return _decimal(text, 2, MAX_VALUE_YUAN, "value_range")


_CONTROL_CHARS = re.compile("[\x00-\x1f\x7f]")


def has_control_chars(text: str) -> bool:
    """Tell whether text holds control characters (NUL and the like, which no field may store)."""
    return _CONTROL_CHARS.search(text) is not None


def _text(max_length: int) -> Callable[[str, Lookups], str]:
    def parse(text: str, lookups: Lookups) -> str:
        if len(text) > max_length:
            raise Invalid("too_long", max=max_length)
        if has_control_chars(text):
            raise Invalid("control_chars")
        return text
    return parse


@dataclass(frozen=True)
class Field:
    """One input column: its API key, accepted spreadsheet headers and parser."""

    key: str  # JSON key and English template header
    column: str  # Shipment column it fills
    headers: tuple[str, ...]  # accepted headers besides key (compared lower-case, spaces dropped)
    parse: Callable[[str, Lookups], Any]
    zh: str  # Chinese template header
    required: bool = False


FIELDS: tuple[Field, ...] = (
    Field("number", "tracking_number", ("运单号", "快递单号", "运单编号", "物流单号", "快递单号码", "tracking_number",
                                        "trackingnumber", "waybill", "waybill_no", "tracking_no"),
          parse_number, "运单号", required=True),
    Field("carrier", "carrier", ("快递公司", "物流公司", "承运商", "快递", "courier"), parse_carrier, "快递公司"),
    Field("phone_last4", "phone_last4", ("手机尾号", "收件人手机尾号", "收件人手机", "收货人手机", "收件人电话",
                                         "收货人电话", "手机号", "phone", "mobile"), parse_phone_last4, "手机尾号"),
    Field("program_id", "program_id", ("项目", "寄递项目", "项目编号", "program"), parse_program, "项目"),
    Field("channel", "channel", ("渠道", "销售渠道", "平台", "销售平台"), parse_channel, "渠道"),
    Field("direction", "direction", ("方向", "寄递方向"), parse_direction, "方向"),
    Field("origin_division_code", "origin_division_code", ("始发地", "始发区县", "始发乡镇", "发货地", "origin"),
          parse_division, "始发地"),
    Field("destination_province", "destination_province_code", ("目的省份", "收货省份", "收件省份", "省份", "省",
                                                                "destination_province_code", "province"),
          parse_province, "目的省份"),
    Field("destination_city", "destination_city", ("目的城市", "收货城市", "收件城市", "城市", "市", "city"),
          _text(40), "目的城市"),
    Field("pieces", "pieces", ("件数", "数量", "包裹数", "quantity"), parse_pieces, "件数"),
    Field("weight_kg", "weight_kg", ("重量", "重量kg", "重量(kg)", "重量（kg）", "重量(公斤)", "weight"),
          parse_weight, "重量"),
    Field("declared_value", "declared_value", ("金额", "申报价值", "货值", "订单金额", "声明价值", "amount", "value"),
          parse_value, "金额"),
    Field("order_ref", "order_ref", ("订单号", "订单编号", "主订单编号", "子订单编号", "order", "order_no",
                                     "order_id"), _text(64), "订单号"),
    Field("batch_label", "batch_label", ("批次", "批次号", "batch"), _text(60), "批次"),
)
FIELD_BY_KEY = {f.key: f for f in FIELDS}
_FIELD_STEPS = tuple((f.key, f.column, f.parse, f.required, f.key == "phone_last4") for f in FIELDS)


def header_key(header: Any) -> str:
    """Canonical form of a column header for matching."""
    return clean_text(header).lower().replace(" ", "").replace("*", "")


HEADER_TO_KEY = {header_key(h): f.key for f in FIELDS for h in (f.key, f.zh, *f.headers)}
ConfidentDetection = 0.6


def _percent(confidence: float) -> str:
    return f"{round(confidence * 100)}%"


def resolve_carrier(number: str) -> str:
    """The carrier detected for a number, or Invalid naming the ranked candidates."""
    candidates = detect(number)
    if not candidates:
        raise Invalid("carrier_undetected")
    best = candidates[0]
    runner_up = candidates[1].confidence if len(candidates) > 1 else 0.0
    if best.confidence >= ConfidentDetection and runner_up <= best.confidence / 2:
        return best.carrier
    raise Invalid("carrier_ambiguous", candidates=[[c.carrier, c.confidence] for c in candidates])


def detection_candidates(number: str) -> list[dict]:
    """The detection candidates of a number, best first, for an error answer."""
    return [{"carrier": c.carrier, "confidence": c.confidence} for c in detect(number)]


# Platform order numbers pasted into the tracking-number column (DOMAIN.md §3):
# Douyin 19 digits from 6, Pinduoduo yymmdd + 15 digits (its dash dropped),
# Taobao/Tmall and Kuaishou 16–19 digits.
_ORDER_REFS = (
    (re.compile(r"^6\d{18}$"), "douyin"),
    (re.compile(r"^\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{15}$"), "pinduoduo"),
    (re.compile(r"^\d{18,19}$"), "platform"),
)
# Letter prefixes that name a carrier even when the rest is wrong (a truncated YT2700).
_PREFIXES = tuple(sorted(((p, code) for code, p in (("yto", "YT"), ("sf", "SF"), ("jtexpress", "JT"),
                                                     ("jd", "JD"), ("deppon", "DPK"), ("sandbox", "SBX"))),
                         key=lambda pc: -len(pc[0])))


def _fits_any(number: str) -> bool:
    return any(c.pattern.match(number) for c in CARRIERS.values())


def _shape(carrier: str, number: str) -> Invalid:
    return Invalid("number_shape", carrier_code=carrier, number=number)


def number_hint(number: str, carrier: str | None = None) -> Invalid | None:
    """Why a number that fits no carrier (or not the given one) is wrong, when we can tell; else None."""
    if carrier is not None and CARRIERS[carrier].matches(number):
        return None
    if carrier is None and (_fits_any(number) or detect(number)):
        return None
    for cut in range(6, len(number) - 5):
        first, second = number[:cut], number[cut:]
        if _fits_any(first) and _fits_any(second):
            return Invalid("number_concatenated", first=first, second=second)
    if not _fits_any(number):
        for pattern, platform in _ORDER_REFS:
            if pattern.match(number):
                expect = {} if carrier is None else {"carrier_code": carrier}
                return Invalid("number_order_ref", number=number, platform_key=platform, **expect)
    if carrier is not None:
        return _shape(carrier, number)
    prefixed = next((code for prefix, code in _PREFIXES if number.startswith(prefix)), None)
    return _shape(prefixed, number) if prefixed else None


def clean_row(raw: dict[str, Any], lookups: Lookups) -> tuple[dict[str, Any], list[Problem]]:
    """Apply every rule to one row keyed by field key; return column values and problems."""
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    get = raw.get
    # Runs once per row of every upload (100,000 a file): fields unpacked from _FIELD_STEPS.
    for key, column, parse, required, phone in _FIELD_STEPS:
        raw_value = get(key)
        if raw_value is None or raw_value == "":
            if required:
                problems.append(Problem(key, "required"))
            continue
        if raw_value.__class__ is str:
            text = raw_value.strip() if raw_value.isascii() and "  " not in raw_value else clean_text(raw_value)
        elif isinstance(raw_value, (str, int, float, Decimal)) and not isinstance(raw_value, bool):
            text = clean_text(raw_value)
        else:
            problems.append(Problem(key, "type"))
            continue
        if phone:
            if isinstance(raw_value, (int, float)) and len(text) < 4:
                text = text.zfill(4)  # a spreadsheet stored 0123 as the number 123
            if not text.isdigit() and _MASKED_TAIL.match(text):
                continue  # its last digits masked (138********): they may come later
        if not text:
            if required:
                problems.append(Problem(key, "required"))
            continue
        try:
            values[column] = parse(text, lookups)
        except Invalid as exc:
            problems.append(Problem(key, exc.code, exc.params))
    if "tracking_number" in values:
        _check_carrier(values, problems)
    if "program_id" not in values and lookups.default_program_id and not any(p.field == "program_id" for p in problems):
        values["program_id"] = lookups.default_program_id
    if "origin_division_code" not in values and lookups.default_origin:
        values["origin_division_code"] = lookups.default_origin
    return values, problems


def _check_carrier(values: dict, problems: list[Problem]) -> None:
    """The number must fully fit its carrier's shape, given or detected (phone digits may come later)."""
    number = values["tracking_number"]
    carrier = values.get("carrier")
    if carrier is None and any(p.field == "carrier" for p in problems):
        return
    if carrier in (None, "ems", "chinapost") and is_s10_shaped(number) and not s10_valid(number):
        problems.append(Problem("number", "number_check_digit"))
        return
    hint = number_hint(number, carrier)
    if hint is not None:
        problems.append(Problem("number", hint.code, hint.params))
        return
    if carrier is None:
        try:
            values["carrier"] = resolve_carrier(number)
        except Invalid as exc:
            problems.append(Problem("carrier", exc.code, exc.params))


# ------------------------------------------------------------ registration
class NumberTaken(Exception):
    """The (carrier, number) belongs to another organisation."""


class CarrierUndecided(Exception):
    """The carrier was omitted and detection was not confident."""

    def __init__(self, problem: Problem, candidates: list[dict]):
        super().__init__(problem.code)
        self.problem = problem
        self.candidates = candidates


class RowInvalid(Exception):
    """A registration with rule violations."""

    def __init__(self, problems: list[Problem]):
        super().__init__(", ".join(f"{p.field}: {p.code}" for p in problems))
        self.problems = problems


def waits_for_phone(carrier: str, phone_last4: str | None) -> bool:
    """Whether a shipment must wait for the phone's last 4 digits before its carrier is asked."""
    return not phone_last4 and carrier in CARRIERS and CARRIERS[carrier].needs_phone


def new_shipment_columns(values: dict, organisation_id: int, provider: str, now: datetime) -> dict:
    """All columns of a new shipment row from cleaned values (Core inserts set every default).

    SF/ZTO without phone digits are registered (and counted) but wait, never
    sent to the carrier, until the digits are added (update_shipment, imports).
    """
    needs_phone = waits_for_phone(values["carrier"], values.get("phone_last4"))
    return {
        "carrier": values["carrier"], "tracking_number": values["tracking_number"], "provider": provider,
        "organisation_id": organisation_id, "program_id": values.get("program_id"),
        "channel": values.get("channel", Channel.OTHER), "direction": values.get("direction", Direction.OUTBOUND),
        "origin_division_code": values.get("origin_division_code"),
        "destination_province_code": values.get("destination_province_code"),
        "destination_city": values.get("destination_city"), "pieces": values.get("pieces", 1),
        "weight_kg": values.get("weight_kg"), "declared_value": values.get("declared_value"),
        "order_ref": values.get("order_ref"), "phone_last4": values.get("phone_last4"),
        "batch_label": values.get("batch_label"),
        # Provenance: the caller sets what it knows (services/imports.py, register_shipment).
        "source": values.get("source"), "import_batch_id": values.get("import_batch_id"),
        "import_row": values.get("import_row"), "registered_by_user_id": values.get("registered_by_user_id"),
        "registered_by_token_id": values.get("registered_by_token_id"),
        "registered_at": now, "status": ShipmentStatus.PENDING, "at_station": False,
        # Due at once: the poller picks new shipments up on its next cycle.
        "next_poll_at": None if needs_phone else now, "poll_failures": 0, "subscription_state": "none",
        "stop_reason": StopReason.NEEDS_PHONE if needs_phone else None,
        "created_at": now, "updated_at": now,
    }


def register_shipment(session: Session, caller, raw: dict, providers: dict,
                      now: datetime | None = None, source: RegistrationSource | None = None,
                      extra: dict | None = None) -> tuple[Shipment, bool]:
    """Register one shipment for the caller's organisation; return (shipment, created).

    Idempotent on (carrier, number): the caller's own earlier registration is
    returned unchanged; another organisation's raises NumberTaken. The
    provenance is the caller's (API token, else the form) unless `source` says
    otherwise; `extra` sets further columns of a new row (a station's origin).
    """
    lookups = Lookups.load(session, caller.organisation_id, any_program=caller.role == Role.ADMIN)
    values, problems = clean_row(raw, lookups)
    carrier_problem = next((p for p in problems if p.field == "carrier"
                            and p.code in ("carrier_ambiguous", "carrier_undetected")), None)
    if carrier_problem and len(problems) == 1:
        raise CarrierUndecided(carrier_problem, detection_candidates(values["tracking_number"]))
    if problems:
        raise RowInvalid(problems)
    existing = _existing(session, values["carrier"], values["tracking_number"])
    if existing is None:
        now = now or utcnow()
        values["source"] = source or (RegistrationSource.API if caller.token_id else RegistrationSource.FORM)
        values["registered_by_user_id"], values["registered_by_token_id"] = caller.user_id, caller.token_id
        columns = new_shipment_columns(
            values, caller.organisation_id, choose_provider(values["carrier"], values["tracking_number"], providers), now)
        columns.update(extra or {})
        try:
            with session.begin_nested():
                shipment = Shipment(**columns)
                session.add(shipment)
            webhooks.record_registered(session, [shipment], now=now)
            return shipment, True
        except IntegrityError:
            # Registered concurrently between our look-up and insert.
            existing = _existing(session, values["carrier"], values["tracking_number"])
            if existing is None:
                raise
    if existing.organisation_id != caller.organisation_id:
        raise NumberTaken()
    return existing, False


def cancel_shipment(shipment: Shipment, reason: str, now: datetime | None = None, caller=None) -> bool:
    """Withdraw a registration: keep the row as `cancelled` with the reason, stop polling; True if it changed.

    The rollup triggers move the row out of every volume (reports count no
    cancelled shipment); a poller still holding it loses its lease, so its
    answer is dropped. The edit history records the caller's cancellation.
    """
    if shipment.status == ShipmentStatus.CANCELLED:
        return False
    now = now or utcnow()
    previous_status, previous_stop = shipment.status, shipment.stop_reason
    history.record_changes(object_session(shipment), shipment.id,
                           [("status", previous_status, ShipmentStatus.CANCELLED),
                            ("cancel_reason", shipment.cancel_reason, reason[:200])],
                           source=history.source_of(caller), user_id=caller and caller.user_id,
                           token_id=caller and caller.token_id, now=now)
    shipment.status = ShipmentStatus.CANCELLED
    shipment.substatus = None
    shipment.stop_reason = StopReason.CANCELLED
    shipment.cancel_reason = reason[:200]
    shipment.cancelled_at = now
    shipment.next_poll_at = None
    shipment.lease_owner = shipment.lease_until = None
    shipment.tracking_alert = shipment.tracking_alert_at = None
    shipment.updated_at = now
    webhooks.record_shipment_change(object_session(shipment), shipment, previous_status=previous_status,
                                    previous_stop=previous_stop, now=now)
    return True


# What a registration's owner may change afterwards (the number and carrier never change).
EDITABLE = ("phone_last4", "program_id", "channel", "direction", "destination_province", "destination_city",
            "pieces", "order_ref")


def update_shipment(session: Session, caller, shipment: Shipment, raw: dict, now: datetime | None = None) -> bool:
    """Apply edits (the import rules per field), each change written to the edit history; added phone
    digits resume a waiting shipment at once.

    Returns whether the shipment now waits for the next poll tick because of
    the digits. Raises RowInvalid naming each bad field.
    """
    lookups = Lookups.load(session, caller.organisation_id, any_program=caller.role == Role.ADMIN)
    values, problems = {}, []
    for key, raw_value in raw.items():
        f = FIELD_BY_KEY[key]
        text = clean_text(raw_value) if isinstance(raw_value, (str, int)) and not isinstance(raw_value, bool) else None
        if text is None or text == "":
            if raw_value is None and key in ("destination_city", "order_ref", "program_id"):
                values[f.column] = None  # cleared
                continue
            problems.append(Problem(key, "required" if text == "" or raw_value is None else "type"))
            continue
        if key == "phone_last4" and isinstance(raw_value, int) and len(text) < 4:
            text = text.zfill(4)
        try:
            values[f.column] = f.parse(text, lookups)
        except Invalid as exc:
            problems.append(Problem(key, exc.code, exc.params))
    if problems:
        raise RowInvalid(problems)
    now = now or utcnow()
    resumed = False
    phone = values.pop("phone_last4", None)
    changes = [(column, getattr(shipment, column), value) for column, value in values.items()]
    if phone is not None and shipment.status != ShipmentStatus.CANCELLED:
        changes.append(("phone_last4", shipment.phone_last4, phone))
        resumed = tracking.set_phone_last4(shipment, phone, now=now)
    for column, value in values.items():
        setattr(shipment, column, value)
    shipment.updated_at = now
    history.record_changes(session, shipment.id, changes, source=history.source_of(caller), user_id=caller.user_id,
                           token_id=caller.token_id, now=now)
    return resumed


def _existing(session: Session, carrier: str, number: str) -> Shipment | None:
    return session.scalar(select(Shipment).where(Shipment.carrier == carrier, Shipment.tracking_number == number))


# ----------------------------------------------------------------- reading
def visible_shipments(caller) -> Select:
    """Select the shipments a caller may read (members: their organisation's)."""
    query = select(Shipment)
    if not caller.sees_everything:
        query = query.where(Shipment.organisation_id == caller.organisation_id)
    if caller.county_code:
        query = query.where(in_county(caller.county_code))
    return query


def in_county(county: str):
    """SQL condition: the shipment's origin is the county or one of its townships."""
    return or_(Shipment.origin_division_code == county,
               Shipment.origin_division_code.in_(select(Division.code).where(Division.parent_code == county)))


def find_shipment(caller, carrier: str, number: str) -> Select:
    """Select one visible shipment by carrier and (raw) number."""
    return visible_shipments(caller).where(
        Shipment.carrier == carrier.lower(), Shipment.tracking_number == normalise_number(number))


def shipment_events(shipment_id: int) -> Select:
    """Select a shipment's events, oldest first."""
    return (select(TrackingEvent).where(TrackingEvent.shipment_id == shipment_id)
            .order_by(TrackingEvent.occurred_at, TrackingEvent.id))


# GET one shipment reads these columns (the detail schema's fields, see
# schemas/shipments.py dump_shipment_detail) in one query: the shipment's row
# with its events as one JSON array (services/timelines.py).
DETAIL_COLUMNS = (
    "carrier", "tracking_number", "provider", "organisation_id", "program_id", "channel", "direction",
    "origin_division_code", "destination_province_code", "destination_city", "pieces", "weight_kg",
    "declared_value", "order_ref", "phone_last4", "batch_label", "status", "substatus", "at_station",
    "tracked_carrier", "tracked_number", "registered_at", "picked_up_at", "delivered_at", "last_event_at",
    "next_poll_at", "stop_reason", "tracking_alert", "cancelled_at", "cancel_reason",
    # provenance
    "id", "source", "import_batch_id", "import_row", "registered_by_user_id", "registered_by_token_id",
)
DETAIL_EVENT_COLUMNS = ("status", "substatus", "location", "description", "raw_code", "source")  # and occurred_at


@cache
def _detail_query(dialect: str, own: bool) -> Select:
    """The detail statement, built once per dialect: for admins and officials, or (own) a member's organisation."""
    shipments, batches = Shipment.__table__.c, ImportBatch.__table__.c
    query = (
        select(*(shipments[name] for name in DETAIL_COLUMNS), batches.file_name.label("import_file_name"),
               timelines.events_column(DETAIL_EVENT_COLUMNS, dialect).label("events"))
        .outerjoin(ImportBatch.__table__, batches.id == shipments.import_batch_id)
        .where(shipments.carrier == bindparam("carrier"), shipments.tracking_number == bindparam("number"))
    )
    return query.where(shipments.organisation_id == bindparam("organisation_id")) if own else query


def find_shipment_detail(session: Session, caller, carrier: str, number: str) -> tuple[dict, list[dict]] | None:
    """Return a visible shipment's columns and its events' (oldest first), or None.

    One Core statement, one row, no ORM objects: this is the API's hottest read.
    """
    params = {"carrier": carrier.lower(), "number": normalise_number(number)}
    own = False
    if caller.county_code:
        # Rare (county officials): the scoped ORM select, then the same one-statement detail.
        if session.scalar(find_shipment(caller, carrier, number).with_only_columns(Shipment.id)) is None:
            return None
    elif not caller.sees_everything:
        own, params["organisation_id"] = True, caller.organisation_id
    row = session.execute(_detail_query(session.get_bind().dialect.name, own), params).first()
    if row is None:
        return None
    shipment = dict(zip(DETAIL_COLUMNS + ("import_file_name",), row))
    events = timelines.events_from_json(row.events, DETAIL_EVENT_COLUMNS)
    return shipment, events


def provenance(source, batch_id, file_name, row, user_id, token_id) -> dict:
    """How a shipment came to be registered, as the API and pages show it."""
    return {"source": getattr(source, "value", source), "batch_id": batch_id, "file_name": file_name, "row": row,
            "user_id": user_id, "token_id": token_id}


def find_for_public(number: str) -> Select:
    """Select the shipments with a (raw) number, whatever the carrier."""
    return select(Shipment).where(Shipment.tracking_number == normalise_number(number)).order_by(Shipment.id)


class BadCursor(ValueError):
    """A pagination cursor that was not issued by us."""


def encode_cursor(shipment: Shipment) -> str:
    """An opaque cursor pointing after this shipment in list order."""
    return encode_position(shipment.registered_at, shipment.id)


def encode_position(at: datetime, ident: int) -> str:
    """An opaque cursor for a (time, id) keyset position (decode_cursor reads it)."""
    raw = f"{at.isoformat()}|{ident}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The (registered_at, id) position a cursor points after."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, ident = raw.partition("|")
        at = datetime.fromisoformat(stamp)
        if at.tzinfo is None or not ident.isdigit() or int(ident) > 2 ** 63:
            raise ValueError(raw)
        return at, int(ident)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadCursor(cursor) from exc


def list_shipments(caller, filters: dict, after: tuple[datetime, int] | None = None) -> Select:
    """Select visible shipments matching filters, newest first, after a cursor position.

    The order (registered_at desc, id desc) is total, so keyset pages neither
    skip nor repeat rows when new shipments arrive.
    """
    query = visible_shipments(caller)
    if filters.get("program") is not None:
        query = query.where(Shipment.program_id == filters["program"])
    if filters.get("status"):
        query = query.where(Shipment.status == filters["status"])
    if filters.get("carrier"):
        query = query.where(Shipment.carrier == filters["carrier"])
    if filters.get("direction"):
        query = query.where(Shipment.direction == filters["direction"])
    if filters.get("channel"):
        query = query.where(Shipment.channel == filters["channel"])
    if filters.get("county"):
        query = query.where(in_county(filters["county"]))
    if filters.get("flag"):
        query = query.where(*flag_condition(filters["flag"], filters.get("now") or utcnow()))
    if filters.get("registered_from"):
        query = query.where(Shipment.registered_at >= filters["registered_from"])
    if filters.get("registered_to"):
        query = query.where(Shipment.registered_at < filters["registered_to"])
    if filters.get("search"):
        term = clean_text(filters["search"])
        number = normalise_number(term)
        query = query.where(or_(Shipment.tracking_number == number, Shipment.order_ref == term))
    if after is not None:
        at, ident = after
        query = query.where(or_(Shipment.registered_at < at, and_(Shipment.registered_at == at, Shipment.id < ident)))
    return query.order_by(Shipment.registered_at.desc(), Shipment.id.desc())


# A live parcel with no new scan for this long is stalled (STATUS_MODEL.md, alerts).
STALLED_AFTER = timedelta(hours=48)
FLAGS = ("needs_phone", "expired", "pickup_overdue", "stalled", "alert")


def flag_condition(flag: str, now: datetime) -> list:
    """SQL conditions of a list filter flag (needs the phone's digits, expired, pickup overdue, stalled, alert)."""
    if flag == "needs_phone":
        return [Shipment.stop_reason == StopReason.NEEDS_PHONE]
    if flag == "expired":
        return [Shipment.status == ShipmentStatus.EXPIRED]
    if flag == "pickup_overdue":
        return [Shipment.pickup_overdue_at.is_not(None), Shipment.picked_up_at.is_(None),
                Shipment.status.not_in(TERMINAL_STATUSES)]
    if flag == "stalled":
        return [Shipment.status.not_in(TERMINAL_STATUSES), Shipment.stop_reason.is_(None),
                func.coalesce(Shipment.last_event_at, Shipment.registered_at) < now - STALLED_AFTER]
    if flag == "alert":
        return [Shipment.tracking_alert.is_not(None)]
    raise ValueError(f"unknown flag {flag!r}")


def waiting_for_phone(session: Session, organisation_id: int, keys: list[tuple[str, str]]) -> dict:
    """Map each of the organisation's (carrier, number) among keys that still lacks phone digits to its row."""
    if not keys:
        return {}
    rows = session.scalars(select(Shipment).where(
        tuple_(Shipment.carrier, Shipment.tracking_number).in_(keys), Shipment.organisation_id == organisation_id,
        Shipment.phone_last4.is_(None), Shipment.status != ShipmentStatus.CANCELLED))
    return {(s.carrier, s.tracking_number): s for s in rows}


def owners_of(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Map each registered (carrier, number) among keys to its organisation id."""
    if not keys:
        return {}
    rows = session.execute(
        select(Shipment.carrier, Shipment.tracking_number, Shipment.organisation_id)
        .where(tuple_(Shipment.carrier, Shipment.tracking_number).in_(keys)))
    return {(carrier, number): org for carrier, number, org in rows}


def count(session: Session, query: Select) -> int:
    """Count the rows of a Select."""
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
