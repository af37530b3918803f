"""17TRACK v2.2 client: register + gettrackinfo in batches of 40 (CARRIER_APIS.md §3)."""

from __future__ import annotations

from typing import Mapping

from ..base import Provider
from ..models import NotFoundYet, TrackProblem, TrackRequest, TrackResult
from . import mapping, push


class SeventeenTrackProvider(Provider):
    """17TRACK v2.2; the webhook URL is configured in the 17TRACK console."""

    code = "17track"
    max_batch = 40
    supports_push = True
    default_url = "https://api.17track.net/track/v2.2"

    def __init__(self, *, token: str, url: str | None = None, timeout: float | None = None, session=None):
        super().__init__(url=url, timeout=timeout, session=session)
        self.token = token

    def _secrets(self):
        return (self.token,)

    def _call(self, path: str, reqs: list[TrackRequest]) -> tuple[dict, dict]:
        items = mapping.build_items(reqs, register=path == "/register")
        body = self._post(self.url + path, json_body=items,
                          headers={"17token": self.token})
        return mapping.split(mapping.raise_for_envelope(body))

    def register(self, reqs: list[TrackRequest]) -> dict[str, TrackProblem | None]:
        """Register numbers (≤40 per call); map number -> None (ok/already) or a problem."""
        out: dict[str, TrackProblem | None] = {}
        for start in range(0, len(reqs), self.max_batch):
            batch = reqs[start:start + self.max_batch]
            accepted, rejected = self._call("/register", batch)
            for req in batch:
                rej = rejected.get(req.number)
                if req.number in accepted or (rej is not None
                                              and mapping.rejection_code(rej) == mapping.ALREADY_REGISTERED):
                    out[req.number] = None
                elif rej is None:
                    # In neither list: not registered as far as we know; ask again later.
                    out[req.number] = NotFoundYet(req, "17track: number missing from the register answer")
                else:
                    out[req.number] = mapping.classify_rejection(req, rej)
        return out

    def _track_batch(self, batch):
        accepted, rejected = self._call("/gettrackinfo", batch)
        outcomes: dict[int, TrackResult | TrackProblem] = {}
        to_register = []
        for i, req in enumerate(batch):
            if req.number in accepted:
                outcomes[i] = mapping.parse_item(req, accepted[req.number])
            elif req.number in rejected and mapping.rejection_code(rejected[req.number]) == mapping.NOT_REGISTERED:
                to_register.append(i)
            elif req.number in rejected:
                outcomes[i] = mapping.classify_rejection(req, rejected[req.number])
            else:
                outcomes[i] = NotFoundYet(req, "17track: number missing from answer")
        if to_register:
            regs = [batch[i] for i in to_register]
            reg_result = self.register(regs)
            ready = [i for i in to_register if reg_result[batch[i].number] is None]
            for i in to_register:
                if reg_result[batch[i].number] is not None:
                    outcomes[i] = reg_result[batch[i].number]
            if ready:
                accepted2, rejected2 = self._call("/gettrackinfo", [batch[i] for i in ready])
                for i in ready:
                    req = batch[i]
                    if req.number in accepted2:
                        outcomes[i] = mapping.parse_item(req, accepted2[req.number])
                    elif req.number in rejected2:
                        outcomes[i] = mapping.classify_rejection(req, rejected2[req.number])
                    else:
                        outcomes[i] = NotFoundYet(req, "17track: registered, no info yet")
        return [outcomes[i] for i in range(len(batch))]

    def subscribe(self, request: TrackRequest, callback_url: str | None = None) -> TrackProblem | None:
        """Register the number so 17TRACK pushes to the console-configured webhook."""
        return self.register([request])[request.number]

    def parse_push(self, body: bytes, headers: Mapping | None = None) -> list[TrackResult]:
        """Verify the webhook `sign` header and return its results."""
        return push.parse_push(body, headers, self.token)

    @staticmethod
    def push_reply(ok: bool) -> tuple[int, str, bytes]:
        """Return the webhook reply (200 on success, 500 so 17TRACK retries)."""
        return push.push_reply(ok)
