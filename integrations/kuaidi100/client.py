"""Kuaidi100 (快递100) real-time query + subscription client (CARRIER_APIS.md §1)."""

from __future__ import annotations

from typing import Mapping

from ..base import Provider
from ..errors import AuthError
from ..carriers import PHONE_RULES
from ..models import InvalidNumber, NeedsPhone, TrackProblem, TrackRequest, TrackResult
from ..numbers import phone_last4
from . import mapping, push

PHONE_CARRIERS = PHONE_RULES["kuaidi100"]  # carriers.PHONE_RULES is the one home of this rule


class Kuaidi100Provider(Provider):
    """Real-time query (`/poll/query.do`, one number per call) and push service (`/poll`)."""

    code = "kuaidi100"
    max_batch = 1
    supports_push = True
    default_url = "https://poll.kuaidi100.com"

    default_autonumber_url = "https://www.kuaidi100.com/autonumber/auto"

    def __init__(self, *, key: str, customer: str, salt: str | None = None,
                 url: str | None = None, autonumber_url: str | None = None,
                 timeout: float | None = None, session=None):
        super().__init__(url=url, timeout=timeout, session=session)
        # Auto-detect lives on another host; with a custom `url` (tests, proxies) it sits under it.
        self.autonumber_url = autonumber_url or (
            self.url + "/autonumber/auto" if url else self.default_autonumber_url)
        self.key = key
        self.customer = customer
        self.salt = salt or ""

    def _secrets(self):
        return (self.key, self.customer, self.salt)

    def _precheck(self, req: TrackRequest) -> TrackProblem | None:
        if mapping.com_for(req.carrier) is None:
            return InvalidNumber(req, f"kuaidi100 has no code for carrier {req.carrier!r}")
        if req.carrier in PHONE_CARRIERS and not phone_last4(req.phone_last4):
            return NeedsPhone(req, "kuaidi100 needs the phone's last 4 digits for this carrier")
        return None

    def _query_one(self, req: TrackRequest) -> TrackResult | TrackProblem:
        form = mapping.build_query_form(req, self.key, self.customer)
        body = self._post(self.url + "/poll/query.do", data=form)
        return mapping.parse_query_response(req, body)

    def autonumber(self, number: str) -> list[str]:
        """Ask Kuaidi100 which carriers a number may belong to (our codes, likeliest first; paid accounts)."""
        body = self._post(self.autonumber_url, data={"num": number, "key": self.key})
        return mapping.parse_autonumber_response(body)

    def subscribe(self, request: TrackRequest, callback_url: str) -> TrackProblem | None:
        """Subscribe a number to pushes at `callback_url`; None when accepted (or already)."""
        problem = self._precheck(request)
        if problem:
            return problem
        if not self.salt:
            # Its pushes could not be verified (config.validate refuses this setup at start).
            raise AuthError("kuaidi100: no subscription without a salt (KUAIDI100_SALT)", provider="kuaidi100")
        form = mapping.build_subscribe_form(request, self.key, callback_url, self.salt)
        body = self._post(self.url + "/poll", data=form)
        return mapping.parse_subscribe_response(request, body)

    def parse_push(self, body: bytes, headers: Mapping | None = None) -> list[TrackResult]:
        """Verify the push `sign` (MD5(param+salt)) and return its results."""
        return push.parse_push(body, headers, self.salt)

    @staticmethod
    def push_reply(ok: bool) -> tuple[int, str, bytes]:
        """Return the reply Kuaidi100 expects to a push."""
        return push.push_reply(ok)
