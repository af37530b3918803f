"""Kdniao payload building and parsing (pure; CARRIER_APIS.md §2)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from ..base import beijing_to_utc
from ..carriers import CARRIERS
from ..errors import AuthError, QuotaExhausted, RateLimited, TemporaryError
from ..models import (InvalidNumber, NeedsPhone, NotFoundYet, Status, TrackEvent,
                      TrackProblem, TrackRequest, TrackResult, build_result)
from ..numbers import phone_last4
from ..text import infer_status
from .statuses import map_state

RATE_RETRY_AFTER = 60.0
_REFINES = {
    "2": {Status.OUT_FOR_DELIVERY, Status.AVAILABLE_FOR_PICKUP, Status.ATTEMPT_FAIL},
    "4": {Status.ATTEMPT_FAIL, Status.RETURNING, Status.RETURNED},
}


def data_sign(request_data: str, app_key: str) -> str:
    """Return Base64(lowercase-hex MD5(RequestData + AppKey)); the form encoding URL-encodes it."""
    digest = hashlib.md5((request_data + app_key).encode("utf-8")).hexdigest()
    return base64.b64encode(digest.encode("ascii")).decode("ascii")


def shipper_for(carrier: str) -> str | None:
    """Return Kdniao's ShipperCode for our carrier code."""
    c = CARRIERS.get(carrier)
    return c.kdniao if c else None


def carrier_for_shipper(code: str | None, default: str) -> str:
    """Return our carrier code for a ShipperCode (default when unknown)."""
    for ours, c in CARRIERS.items():
        if c.kdniao and c.kdniao == code:
            return ours
    return default


def build_request_data(req: TrackRequest) -> str:
    """Return the RequestData JSON string for an instant query / subscription."""
    data: dict[str, Any] = {"ShipperCode": shipper_for(req.carrier), "LogisticCode": req.number}
    phone = phone_last4(req.phone_last4)
    if phone:
        data["CustomerName"] = phone
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def build_form(request_data: str, request_type: str, ebusiness_id: str, app_key: str) -> dict[str, str]:
    """Return the system-level form fields (RequestData, EBusinessID, RequestType, DataSign, DataType)."""
    return {
        "RequestData": request_data,
        "EBusinessID": ebusiness_id,
        "RequestType": str(request_type),
        "DataSign": data_sign(request_data, app_key),
        "DataType": "2",
    }


def classify_failure(req: TrackRequest, body: dict) -> TrackProblem:
    """Turn `Success:false` into a per-number outcome, or raise for whole-call errors."""
    reason = str(body.get("Reason") or "")
    label = f"kdniao: {reason}"
    if "非法参数" in reason or "ID和key" in reason or "签名" in reason or "DataSign" in reason:
        raise AuthError(label, provider="kdniao")
    if "套餐" in reason or "余额" in reason:
        raise QuotaExhausted(label, provider="kdniao")
    if "超出查询次数" in reason or "频繁" in reason or "限制" in reason:
        raise RateLimited(label, retry_after=RATE_RETRY_AFTER, provider="kdniao")
    if "系统" in reason and ("错误" in reason or "繁忙" in reason):
        raise TemporaryError(label, provider="kdniao")
    if "CustomerName" in reason or "手机" in reason or "电话" in reason:
        return NeedsPhone(req, reason, raw=body)
    if "暂无轨迹" in reason or "没有物流轨迹" in reason or "暂无" in reason:
        return NotFoundYet(req, reason, raw=body)
    if "无效" in reason or "不正确" in reason or "错误" in reason or "不支持" in reason:
        return InvalidNumber(req, reason, raw=body)
    return NotFoundYet(req, reason or "no result", raw=body)


def _event(item: dict) -> TrackEvent:
    when = beijing_to_utc(item.get("AcceptTime"))
    desc = str(item.get("AcceptStation") or "").strip()
    action = item.get("Action")
    code = str(action) if action not in (None, "") else None
    mapped = map_state(code) if code is not None else None
    status, sub = mapped if mapped else infer_status(desc)
    return TrackEvent(when, status, desc, item.get("Location") or None, code, sub)


def parse_track(req: TrackRequest, data: dict, *, raw: dict | None = None) -> TrackResult | TrackProblem:
    """Parse one tracking item (query answer or push Data[] element)."""
    if data.get("Success") in (False, "false", "False"):
        return classify_failure(req, data)
    events = [_event(t) for t in (data.get("Traces") or []) if t.get("AcceptTime")]
    state_ex = data.get("StateEx")
    state = data.get("State")
    raw_state = str(state_ex) if state_ex not in (None, "") else (str(state) if state not in (None, "") else None)
    mapped = map_state(raw_state) or map_state(state)
    if not events and (mapped is None or mapped[0] is Status.PENDING):
        return NotFoundYet(req, str(data.get("Reason") or "暂无轨迹信息"), raw=raw or data)
    if mapped and mapped[0] is not Status.PENDING:
        status, sub = mapped
        if raw_state in _REFINES and events and events[-1].status in _REFINES[raw_state]:
            # 1002 has only the coarse State 2 (在途中) / 4 (问题件): the last scan tells
            # 派件/驿站/退回 apart (8001's StateEx never needs this).
            status, sub = events[-1].status, events[-1].substatus
    else:
        status, sub = events[-1].status, events[-1].substatus
    return build_result(number=str(data.get("LogisticCode") or req.number),
                        carrier=carrier_for_shipper(data.get("ShipperCode"), req.carrier),
                        status=status, substatus=sub, raw_state=raw_state, events=events,
                        raw=raw or data)


def parse_query_response(req: TrackRequest, body: Any) -> TrackResult | TrackProblem:
    """Parse an instant-query (1002/8001) JSON answer."""
    if not isinstance(body, dict) or "Success" not in body:
        raise TemporaryError("kdniao: unexpected JSON shape", provider="kdniao")
    return parse_track(req, body, raw=body)


def parse_subscribe_response(req: TrackRequest, body: Any) -> TrackProblem | None:
    """Return None when the subscription was accepted; a problem or raise otherwise."""
    if not isinstance(body, dict) or "Success" not in body:
        raise TemporaryError("kdniao: unexpected JSON shape", provider="kdniao")
    if body.get("Success") in (True, "true", "True"):
        return None
    return classify_failure(req, body)
