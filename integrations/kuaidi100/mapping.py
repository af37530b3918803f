"""Kuaidi100 payload building and parsing (pure; CARRIER_APIS.md §1)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..base import beijing_to_utc
from ..carriers import CARRIERS
from ..errors import AuthError, BadRequest, QuotaExhausted, RateLimited, TemporaryError
from ..models import (InvalidNumber, NeedsPhone, NotFoundYet, Status, TrackEvent,
                      TrackProblem, TrackRequest, TrackResult, build_result)
from ..numbers import phone_last4
from ..text import infer_status
from .statuses import NAME_TABLE, map_state

LOCK_RETRY_AFTER = 24 * 3600.0   # 锁单: no updates for 24 h (K-LOCK)
BUSY_RETRY_AFTER = 60.0          # 502 服务器繁忙
MIN_INTERVAL = 30 * 60.0         # ≥30 min between queries of one number (K-DOC)


def query_sign(param: str, key: str, customer: str) -> str:
    """Return UPPER(MD5(param + key + customer)) over the exact param string sent."""
    return hashlib.md5((param + key + customer).encode("utf-8")).hexdigest().upper()


def push_sign(param: str, salt: str) -> str:
    """Return UPPER(MD5(param + salt)) as carried by a push."""
    return hashlib.md5((param + (salt or "")).encode("utf-8")).hexdigest().upper()


def com_for(carrier: str) -> str | None:
    """Return Kuaidi100's `com` for our carrier code."""
    c = CARRIERS.get(carrier)
    return c.kuaidi100 if c else None


def carrier_for_com(com: str | None, default: str) -> str:
    """Return our carrier code for a Kuaidi100 `com` (default when unknown)."""
    for code, c in CARRIERS.items():
        if c.kuaidi100 and c.kuaidi100 == com:
            return code
    return default


def build_query_form(req: TrackRequest, key: str, customer: str) -> dict[str, str]:
    """Return the form fields of a real-time query (param JSON, sign, customer)."""
    param: dict[str, Any] = {"com": com_for(req.carrier), "num": req.number}
    phone = phone_last4(req.phone_last4)
    if phone:
        param["phone"] = phone
    param["resultv2"] = "4"
    text = json.dumps(param, ensure_ascii=False, separators=(",", ":"))
    return {"customer": customer, "sign": query_sign(text, key, customer), "param": text}


def build_subscribe_form(req: TrackRequest, key: str, callback_url: str, salt: str | None) -> dict[str, str]:
    """Return the form fields of a subscription (schema=json, param with key + parameters)."""
    parameters: dict[str, Any] = {"callbackurl": callback_url, "resultv2": "4"}
    if salt:
        parameters["salt"] = salt
    phone = phone_last4(req.phone_last4)
    if phone:
        parameters["phone"] = phone
    param = {"company": com_for(req.carrier), "number": req.number, "key": key, "parameters": parameters}
    return {"schema": "json", "param": json.dumps(param, ensure_ascii=False, separators=(",", ":"))}


def _is_lock_message(message: str) -> bool:
    return any(w in message for w in ("锁", "频繁", "locked"))


def classify_query_error(req: TrackRequest, body: dict) -> TrackProblem:
    """Turn an error envelope into a per-number outcome, or raise for whole-call errors."""
    code = str(body.get("returnCode") or body.get("status") or "").strip()
    message = str(body.get("message") or "")
    label = f"kuaidi100 returnCode {code}: {message}"
    if _is_lock_message(message):
        raise RateLimited(label + " (number locked)", retry_after=LOCK_RETRY_AFTER,
                          provider="kuaidi100", code=code)
    if code == "500":
        return NotFoundYet(req, message or "查询无结果", raw=body)
    if code == "408":
        return NeedsPhone(req, message or "phone last 4 digits required or wrong", raw=body)
    if code == "400":
        return InvalidNumber(req, message or "unknown company or bad data", raw=body)
    if code == "503":
        raise AuthError(label, provider="kuaidi100", code=code)
    if code == "601":
        raise QuotaExhausted(label, provider="kuaidi100", code=code)
    if code == "502":
        raise RateLimited(label, retry_after=BUSY_RETRY_AFTER, provider="kuaidi100", code=code)
    if code == "501" or code.startswith("5"):
        raise TemporaryError(label, provider="kuaidi100", code=code)
    raise BadRequest(label, provider="kuaidi100", code=code)


def _event(item: dict) -> TrackEvent:
    when = beijing_to_utc(item.get("ftime") or item.get("time"))
    desc = str(item.get("context") or "").strip()
    code = item.get("statusCode")
    code = str(code) if code not in (None, "") else None
    if code is None and item.get("status") in NAME_TABLE:
        code = NAME_TABLE[item["status"]]
    mapped = map_state(code) if code is not None else None
    status, sub = mapped if mapped else infer_status(desc)
    location = item.get("location") or item.get("areaName") or None
    return TrackEvent(when, status, desc, location, code, sub)


def parse_track(req: TrackRequest, last: dict, *, raw: dict | None = None,
                tracking_stopped: bool = False) -> TrackResult | TrackProblem:
    """Parse a success body (query answer or a push's lastResult) into a result."""
    items = last.get("data") or []
    # Kuaidi100 sends newest first by default: reverse so ties keep chronological order.
    if len(items) > 1:
        first, lastt = items[0].get("ftime") or items[0].get("time"), items[-1].get("ftime") or items[-1].get("time")
        if str(first) > str(lastt):
            items = list(reversed(items))
    events = [_event(i) for i in items if (i.get("ftime") or i.get("time"))]
    state = last.get("state")
    state = str(state) if state not in (None, "") else None
    mapped = map_state(state)
    if not events and state in (None, "0"):
        if tracking_stopped:
            status, sub = Status.PENDING, None
        else:
            return NotFoundYet(req, "no events yet", raw=raw or last)
    elif mapped:
        status, sub = mapped
    elif events:
        status, sub = events[-1].status, events[-1].substatus
    else:
        status, sub = Status.PENDING, None
    number = str(last.get("nu") or req.number)
    return build_result(number=number, carrier=carrier_for_com(last.get("com"), req.carrier),
                        status=status, substatus=sub, raw_state=state, events=events,
                        raw=raw or last, tracking_stopped=tracking_stopped)


def parse_query_response(req: TrackRequest, body: Any) -> TrackResult | TrackProblem:
    """Parse a query.do JSON answer (success or error envelope)."""
    if not isinstance(body, dict):
        raise TemporaryError("kuaidi100: unexpected JSON shape", provider="kuaidi100")
    if body.get("result") is False or ("returnCode" in body and "data" not in body):
        return classify_query_error(req, body)
    if str(body.get("status", "200")) == "408":
        return classify_query_error(req, body)
    if "data" not in body and "state" not in body:
        raise TemporaryError("kuaidi100: unexpected JSON shape", provider="kuaidi100")
    return parse_track(req, body, raw=body)


def parse_subscribe_response(req: TrackRequest, body: Any) -> TrackProblem | None:
    """Return None when subscribed (200, or 501 duplicate), a problem or raise otherwise."""
    if not isinstance(body, dict):
        raise TemporaryError("kuaidi100: unexpected subscribe answer", provider="kuaidi100")
    code = str(body.get("returnCode") or "")
    message = str(body.get("message") or "")
    label = f"kuaidi100 subscribe returnCode {code}: {message}"
    if body.get("result") is True or code in ("200", "501"):
        return None
    if code == "600":
        raise AuthError(label, provider="kuaidi100", code=code)
    if code == "601":
        raise QuotaExhausted(label, provider="kuaidi100", code=code)
    if code in ("700", "701", "702"):
        return InvalidNumber(req, message, raw=body)
    if code == "500":
        raise TemporaryError(label, provider="kuaidi100", code=code)
    raise BadRequest(label, provider="kuaidi100", code=code)


def parse_autonumber_response(body: Any) -> list[str]:
    """Return our carrier codes from an autonumber answer, most likely first (unknown coms dropped)."""
    if isinstance(body, dict):
        code = str(body.get("returnCode") or "")
        label = f"kuaidi100 autonumber returnCode {code}: {body.get('message') or ''}"
        if code == "601":
            raise QuotaExhausted(label, provider="kuaidi100", code=code)
        if code in ("600", "503"):
            raise AuthError(label, provider="kuaidi100", code=code)
        raise TemporaryError(label, provider="kuaidi100", code=code)
    if not isinstance(body, list):
        raise TemporaryError("kuaidi100: unexpected autonumber answer", provider="kuaidi100")
    out: list[str] = []
    for item in body:
        code = carrier_for_com(str((item or {}).get("comCode") or ""), "")
        if code and code not in out:
            out.append(code)
    return out
