"""Kuaidi100 push callback: verify `sign` = MD5(param + salt), parse, reply (§1.9)."""

from __future__ import annotations

import hmac
import json
from dataclasses import replace
from typing import Mapping
from urllib.parse import parse_qs

from ..errors import AuthError
from ..models import TrackRequest, TrackResult
from .mapping import carrier_for_com, parse_track, push_sign

SUCCESS_REPLY = {"result": True, "returnCode": "200", "message": "成功"}
FAILURE_REPLY = {"result": False, "returnCode": "500", "message": "失败"}


def _form(body: bytes, headers: Mapping | None) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise AuthError("kuaidi100 push: body is not UTF-8", provider="kuaidi100") from None
    fields = parse_qs(text, keep_blank_values=True)
    return {k: v[0] for k, v in fields.items()}


def verify_push(body: bytes, headers: Mapping | None, salt: str) -> str:
    """Return the raw `param` string once its sign checks out; raise AuthError otherwise."""
    if not salt:
        # MD5(param + "") needs no secret: without a salt no push is genuine.
        raise AuthError("kuaidi100 push: no salt configured (KUAIDI100_SALT)", provider="kuaidi100")
    form = _form(body, headers)
    param, sign = form.get("param"), form.get("sign")
    if not param or not sign:
        raise AuthError("kuaidi100 push: missing param or sign", provider="kuaidi100")
    if not hmac.compare_digest(push_sign(param, salt).encode(), sign.strip().upper().encode()):
        raise AuthError("kuaidi100 push: bad signature", provider="kuaidi100")
    return param


def parse_push(body: bytes, headers: Mapping | None, salt: str) -> list[TrackResult]:
    """Verify then parse one push into results (empty when it carries no events)."""
    param = verify_push(body, headers, salt)
    try:
        payload = json.loads(param)
    except ValueError:
        raise AuthError("kuaidi100 push: param is not JSON", provider="kuaidi100") from None
    last = payload.get("lastResult") or {}
    number = str(last.get("nu") or "")
    if not number:
        return []
    com = payload.get("comNew") or last.get("com")
    req = TrackRequest(carrier=carrier_for_com(com, "unknown"), number=number)
    stopped = payload.get("status") == "abort"
    outcome = parse_track(req, {**last, "com": com}, raw=payload, tracking_stopped=stopped)
    if stopped and isinstance(outcome, TrackResult) and "无记录" in str(payload.get("message") or ""):
        outcome = replace(outcome, no_record=True)
    return [outcome] if isinstance(outcome, TrackResult) else []


def push_reply(ok: bool) -> tuple[int, str, bytes]:
    """Return (HTTP status, content type, body) Kuaidi100 expects; a failure makes it retry."""
    body = json.dumps(SUCCESS_REPLY if ok else FAILURE_REPLY, ensure_ascii=False).encode("utf-8")
    return 200, "application/json;charset=utf-8", body
