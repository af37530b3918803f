"""17TRACK webhook: verify header `sign`, parse TRACKING_UPDATED/STOPPED, reply (§3.5)."""

from __future__ import annotations

import hmac
import json
from typing import Mapping

from ..base import get_header
from ..errors import AuthError
from ..models import TrackRequest, TrackResult
from .mapping import carrier_for_key, parse_item, webhook_sign


def verify_push(body: bytes, headers: Mapping | None, token: str) -> None:
    """Raise AuthError unless header `sign` == sha256(raw body + "/" + token)."""
    sign = get_header(headers, "sign")
    if not sign:
        raise AuthError("17track webhook: missing sign header", provider="17track")
    if not hmac.compare_digest(webhook_sign(body, token).encode(), sign.strip().lower().encode()):
        raise AuthError("17track webhook: bad signature", provider="17track")


def parse_push(body: bytes, headers: Mapping | None, token: str) -> list[TrackResult]:
    """Verify then parse a webhook body into results."""
    verify_push(body, headers, token)
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise AuthError("17track webhook: body is not JSON", provider="17track") from None
    data = payload.get("data") or {}
    number = str(data.get("number") or "")
    if not number:
        return []
    stopped = payload.get("event") == "TRACKING_STOPPED"
    req = TrackRequest(carrier=carrier_for_key(data.get("carrier"), "unknown"), number=number)
    outcome = parse_item(req, data, raw=payload, tracking_stopped=stopped)
    return [outcome] if isinstance(outcome, TrackResult) else []


def push_reply(ok: bool) -> tuple[int, str, bytes]:
    """Return HTTP 200 on success; a 500 makes 17TRACK retry."""
    if ok:
        return 200, "application/json", b'{"code":0}'
    return 500, "application/json", b'{"code":-1}'
