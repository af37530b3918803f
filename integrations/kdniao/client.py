"""Kdniao (快递鸟) instant query + subscription client (CARRIER_APIS.md §2)."""

from __future__ import annotations

from typing import Mapping

from ..base import Provider
from ..carriers import PHONE_RULES
from ..models import InvalidNumber, NeedsPhone, TrackProblem, TrackRequest, TrackResult
from ..numbers import phone_last4
from . import mapping, push

PHONE_CARRIERS = PHONE_RULES["kdniao"]  # carriers.PHONE_RULES is the one home of this rule
QUERY_PATH = "/Ebusiness/EbusinessOrderHandle.aspx"
SUBSCRIBE_PATH = "/api/dist"


class KdniaoProvider(Provider):
    """Instant query (RequestType 1002, or 8001 value-added) and push subscription (1008)."""

    code = "kdniao"
    max_batch = 1
    supports_push = True
    default_url = "https://api.kdniao.com"

    def __init__(self, *, ebusiness_id: str, app_key: str, url: str | None = None,
                 request_type: str | int = "1002", timeout: float | None = None, session=None):
        super().__init__(url=url, timeout=timeout, session=session)
        self.ebusiness_id = str(ebusiness_id)
        self.app_key = app_key
        self.request_type = str(request_type)

    def _secrets(self):
        return (self.app_key,)

    def _precheck(self, req: TrackRequest) -> TrackProblem | None:
        if mapping.shipper_for(req.carrier) is None:
            return InvalidNumber(req, f"kdniao has no ShipperCode for carrier {req.carrier!r}")
        if req.carrier in PHONE_CARRIERS and not phone_last4(req.phone_last4):
            return NeedsPhone(req, "kdniao needs CustomerName (phone last 4 digits) for this carrier")
        return None

    def _query_one(self, req: TrackRequest) -> TrackResult | TrackProblem:
        form = mapping.build_form(mapping.build_request_data(req), self.request_type,
                                  self.ebusiness_id, self.app_key)
        body = self._post(self.url + QUERY_PATH, data=form)
        return mapping.parse_query_response(req, body)

    def subscribe(self, request: TrackRequest, callback_url: str) -> TrackProblem | None:
        """Subscribe (RequestType 1008) with `Callback`; None when accepted."""
        problem = self._precheck(request)
        if problem:
            return problem
        import json
        data = json.loads(mapping.build_request_data(request))
        data["Callback"] = callback_url
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        form = mapping.build_form(text, "1008", self.ebusiness_id, self.app_key)
        body = self._post(self.url + SUBSCRIBE_PATH, data=form)
        return mapping.parse_subscribe_response(request, body)

    def parse_push(self, body: bytes, headers: Mapping | None = None) -> list[TrackResult]:
        """Verify the push DataSign and return its results."""
        return push.parse_push(body, headers, self.app_key)

    def push_reply(self, ok: bool) -> tuple[int, str, bytes]:
        """Return the reply Kdniao expects to a push."""
        return push.push_reply(ok, self.ebusiness_id)
