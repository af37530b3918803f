"""17TRACK v2.2 payload building and parsing (pure; CARRIER_APIS.md §3)."""

from __future__ import annotations

import hashlib
from typing import Any

from ..base import parse_iso
from ..carriers import CARRIERS
from ..errors import AuthError, BadRequest, QuotaExhausted, RateLimited, TemporaryError
from ..models import (InvalidNumber, NotFoundYet, Status, TrackEvent, TrackProblem,
                      TrackRequest, TrackResult, build_result)
from ..numbers import phone_last4
from ..text import infer_status
from .statuses import STAGE_TABLE, map_status

ALREADY_REGISTERED = -18019901
NOT_REGISTERED = -18019902
AUTH_CODES = {-18010001, -18010002, -18010004, -18010005}
DAILY_LIMIT_RETRY_AFTER = 3600.0


def webhook_sign(body: bytes, token: str) -> str:
    """Return lowercase hex SHA256(raw_body + "/" + security key)."""
    return hashlib.sha256(body + b"/" + token.encode("utf-8")).hexdigest()


def carrier_key(carrier: str) -> int | None:
    """Return 17TRACK's numeric carrier key for our code (None = auto-detect)."""
    c = CARRIERS.get(carrier)
    return c.seventeentrack if c else None


def carrier_for_key(key: Any, default: str) -> str:
    for code, c in CARRIERS.items():
        if c.seventeentrack is not None and str(c.seventeentrack) == str(key):
            return code
    return default


def build_items(requests: list[TrackRequest], *, register: bool = False) -> list[dict]:
    """Return the JSON array body for /register (with `param` = phone last 4) or /gettrackinfo."""
    items = []
    for req in requests:
        item: dict[str, Any] = {"number": req.number}
        key = carrier_key(req.carrier)
        if key is not None:
            item["carrier"] = key
        phone = phone_last4(req.phone_last4)
        if register and phone:
            item["param"] = phone  # extra parameter some carriers need (phone digits)
        items.append(item)
    return items


def _code(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def raise_for_envelope(body: Any) -> dict:
    """Check the top-level envelope; return `data` or raise a typed error."""
    if not isinstance(body, dict) or "code" not in body:
        raise TemporaryError("17track: unexpected JSON shape", provider="17track")
    code = _code(body.get("code"))
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    if code == 0:
        return data
    # Top-level error shape is UNCONFIRMED: read the code at the top or in data.errors[0].
    errors = data.get("errors") or []
    if errors and isinstance(errors[0], dict):
        code = _code(errors[0].get("code")) or code
    label = f"17track error code {code}"
    if code in AUTH_CODES:
        raise AuthError(label, provider="17track", code=str(code))
    if code == -18010003:
        raise TemporaryError(label, provider="17track", code=str(code))
    if code == -18019907:
        raise RateLimited(label, retry_after=DAILY_LIMIT_RETRY_AFTER, provider="17track", code=str(code))
    if code == -18019908:
        raise QuotaExhausted(label, provider="17track", code=str(code))
    raise BadRequest(label, provider="17track", code=str(code))


def split(data: dict) -> tuple[dict[str, dict], dict[str, dict]]:
    """Return (accepted by number, rejected by number)."""
    accepted = {str(a.get("number")): a for a in data.get("accepted") or [] if isinstance(a, dict)}
    rejected = {str(r.get("number")): r for r in data.get("rejected") or [] if isinstance(r, dict)}
    return accepted, rejected


def rejection_code(item: dict) -> int | None:
    return _code((item.get("error") or {}).get("code"))


def classify_rejection(req: TrackRequest, item: dict) -> TrackProblem:
    """Turn a rejected item into a per-number outcome, or raise for account-level codes."""
    code = rejection_code(item)
    message = str((item.get("error") or {}).get("message") or "")
    label = f"17track rejected code {code}: {message}"
    if code in AUTH_CODES:
        raise AuthError(label, provider="17track", code=str(code))
    if code == -18019907:
        raise RateLimited(label, retry_after=DAILY_LIMIT_RETRY_AFTER, provider="17track", code=str(code))
    if code == -18019908:
        raise QuotaExhausted(label, provider="17track", code=str(code))
    if code == -18010003:
        raise TemporaryError(label, provider="17track", code=str(code))
    if code in (NOT_REGISTERED, -18019909, ALREADY_REGISTERED):
        return NotFoundYet(req, message or "no tracking info yet", raw=item)
    return InvalidNumber(req, f"{code}: {message}", raw=item)


def _event(ev: dict) -> TrackEvent | None:
    when = ev.get("time_utc") or ev.get("time_iso")
    if not when:
        return None
    desc = str(ev.get("description") or "").strip()
    mapped = None
    code = ev.get("sub_status") or ev.get("stage")
    if ev.get("sub_status"):
        mapped = map_status(None, ev["sub_status"])
    if mapped is None and ev.get("stage") in STAGE_TABLE:
        mapped = STAGE_TABLE[ev["stage"]]
    status, sub = mapped if mapped else infer_status(desc)
    return TrackEvent(parse_iso(when), status, desc, ev.get("location") or None, code, sub)


def parse_item(req: TrackRequest, item: dict, *, raw: dict | None = None,
               tracking_stopped: bool = False) -> TrackResult | TrackProblem:
    """Parse one accepted gettrackinfo item (or webhook `data`)."""
    info = item.get("track_info") or {}
    latest = info.get("latest_status") or {}
    main, sub_status = latest.get("status"), latest.get("sub_status")
    events = []
    for prov in (info.get("tracking") or {}).get("providers") or []:
        for ev in prov.get("events") or []:
            parsed = _event(ev)
            if parsed:
                events.append(parsed)
    mapped = map_status(main, sub_status)
    if not events and sub_status == "NotFound_InvalidCode":
        return InvalidNumber(req, "17track: invalid number", raw=raw or item)
    if not events and (mapped is None or mapped[0] is Status.PENDING):
        if not tracking_stopped:
            return NotFoundYet(req, "17track: no tracking info yet", raw=raw or item)
    if mapped:
        status, sub = mapped
    elif events:
        status, sub = events[-1].status, events[-1].substatus
    else:
        status, sub = Status.PENDING, None
    milestones = {m.get("key_stage"): m.get("time_utc") or m.get("time_iso")
                  for m in info.get("milestone") or [] if isinstance(m, dict)}
    picked = parse_iso(milestones["PickedUp"]) if milestones.get("PickedUp") else None
    delivered = parse_iso(milestones["Delivered"]) if milestones.get("Delivered") else None
    return build_result(number=str(item.get("number") or req.number),
                        carrier=carrier_for_key(item.get("carrier"), req.carrier),
                        status=status, substatus=sub, raw_state=sub_status or main,
                        events=events, raw=raw or item, picked_up_at=picked, delivered_at=delivered,
                        tracking_stopped=tracking_stopped)
