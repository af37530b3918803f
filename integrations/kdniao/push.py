"""Kdniao push (RequestType 101/102): verify DataSign, parse, reply (CARRIER_APIS.md §2.7)."""

from __future__ import annotations

import hmac
import json
from datetime import datetime, timezone
from typing import Callable, Mapping
from urllib.parse import parse_qs

from ..base import utc_to_beijing_str
from ..errors import AuthError
from ..models import TrackRequest, TrackResult
from .mapping import carrier_for_shipper, data_sign, parse_track


# Tracking results: 101 (subscription 1008), 102 (in-transit monitoring 8008). Others (107 COD) are not ours.
TRACKING_PUSH_TYPES = frozenset({"101", "102"})


def verify_push(body: bytes, headers: Mapping | None, app_key: str) -> str | None:
    """Return the raw RequestData once DataSign checks out (None for a push that is no tracking
    result, by RequestType); raise AuthError otherwise."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise AuthError("kdniao push: body is not UTF-8", provider="kdniao") from None
    form = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
    data, sign = form.get("RequestData"), form.get("DataSign")
    if not data or not sign:
        raise AuthError("kdniao push: missing RequestData or DataSign", provider="kdniao")
    if not hmac.compare_digest(data_sign(data, app_key).encode(), sign.strip().encode()):
        raise AuthError("kdniao push: bad DataSign", provider="kdniao")
    request_type = (form.get("RequestType") or "").strip()
    if not request_type:
        raise AuthError("kdniao push: missing RequestType", provider="kdniao")
    return data if request_type in TRACKING_PUSH_TYPES else None


def parse_push(body: bytes, headers: Mapping | None, app_key: str) -> list[TrackResult]:
    """Verify then parse a push into results (items without traces are skipped)."""
    data = verify_push(body, headers, app_key)
    if data is None:
        return []  # genuine, but not a tracking push: acknowledged, nothing to apply
    try:
        payload = json.loads(data)
    except ValueError:
        raise AuthError("kdniao push: RequestData is not JSON", provider="kdniao") from None
    results = []
    for item in payload.get("Data") or []:
        number = str(item.get("LogisticCode") or "")
        if not number:
            continue
        req = TrackRequest(carrier=carrier_for_shipper(item.get("ShipperCode"), "unknown"), number=number)
        outcome = parse_track(req, item, raw=item)
        if isinstance(outcome, TrackResult):
            results.append(outcome)
    return results


def push_reply(ok: bool, ebusiness_id: str, clock: Callable[[], datetime] | None = None) -> tuple[int, str, bytes]:
    """Return the JSON reply Kdniao expects to a push (Success true/false)."""
    now = (clock or (lambda: datetime.now(timezone.utc)))()
    body = {"EBusinessID": ebusiness_id, "UpdateTime": utc_to_beijing_str(now),
            "Success": bool(ok), "Reason": "" if ok else "处理失败"}
    return 200, "application/json;charset=utf-8", json.dumps(body, ensure_ascii=False).encode("utf-8")
