"""Fake 17TRACK v2.2: /register, /gettrackinfo (and /stoptrack), as in CARRIER_APIS.md §3.

    fake = SeventeenTrackFake(scenarios={"EA123456785CN": "delivered"})
    url, stop = tests.fakes.server.serve(fake)          # base URL; paths are <url>/register ...
    provider = get_provider("17track", url=url, token=TOKEN)

Checks: POST with JSON array body and header `17token` == `token` knob (else HTTP 401
with code -18010002); more than 40 items -> top-level code -18010014. Per item:
numbers in `unregistered` are rejected by gettrackinfo with -18019902 until
registered; registering twice -> -18019901. Knobs (besides FakeAggregator's):
`token`, `unregistered` (set of numbers not yet registered), `registered`,
`rate_limit_per_sec` (None = off; 3 is the real limit -> HTTP 429 beyond),
`quota_exhausted` (register answers -18019908). Behaviours per number: stories plus
not_found (NotFound_Other, no events), bad_number (-18019910), phone_required
(rejected -18019903, the nearest documented code: UNCONFIRMED), locked (-18019907),
server_error, timeout, malformed, html (whole request). Counters: `counts[number]`
per gettrackinfo, `register_counts[number]`, `calls[path]`.
`make_webhook()` builds a signed TRACKING_UPDATED body.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter, deque

from werkzeug.wrappers import Request, Response

from .base import FakeAggregator
from .scenarios import STORIES, story

TOKEN = "TEST17TOKENSHAOXING0000000000000"
# kind -> (status, sub_status, stage)
CODES = {"ORDER": ("InfoReceived", "InfoReceived", "InfoReceived"),
         "PICKUP": ("InTransit", "InTransit_PickedUp", "PickedUp"),
         "TRANSIT": ("InTransit", "InTransit_Other", None),
         "ARRIVE_CITY": ("InTransit", "InTransit_Arrival", "Arrival"),
         "OUT": ("OutForDelivery", "OutForDelivery_Other", "OutForDelivery"),
         "STATION": ("AvailableForPickup", "AvailableForPickup_Other", "AvailableForPickup"),
         "SIGNED": ("Delivered", "Delivered_Other", "Delivered"),
         "COLLECTED": ("Delivered", "Delivered_Other", "Delivered"),
         "TRANSFER": ("InTransit", "InTransit_Other", None),
         "EXCEPTION": ("Exception", "Exception_Delayed", None),
         "RETURNING": ("Exception", "Exception_Returning", "Returning"),
         "RETURNED": ("Exception", "Exception_Returned", "Returned")}


def _iso(bj: str) -> tuple[str, str]:
    from datetime import datetime, timedelta
    dt = datetime.strptime(bj, "%Y-%m-%d %H:%M:%S")
    return dt.strftime("%Y-%m-%dT%H:%M:%S+08:00"), (dt - timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%SZ")


def track_info(scenario: str, *, shuffle: bool = True, steps: list | None = None) -> dict:
    """Return a v2.2 `track_info` for a story or given steps (events newest first unless shuffle=False)."""
    if steps is None and scenario in STORIES:
        steps = story(scenario)
    if not steps:
        return {"latest_status": {"status": "NotFound", "sub_status": "NotFound_Other", "sub_status_descr": None},
                "latest_event": None, "milestone": [],
                "tracking": {"providers_hash": 0, "providers": []}}
    events, milestones = [], {}
    for when, kind, desc, loc in steps:
        iso, utc = _iso(when)
        status, sub, stage = CODES[kind]
        events.append({"time_iso": iso, "time_utc": utc, "description": desc, "location": loc,
                       "stage": stage, "sub_status": sub, "address": {"country": "CN", "city": loc}})
        if stage and stage not in milestones:
            milestones[stage] = (iso, utc)
    if shuffle:
        events = list(reversed(events))
    status, sub, _ = CODES[steps[-1][1]]
    keys = ["InfoReceived", "PickedUp", "Departure", "Arrival", "AvailableForPickup", "OutForDelivery",
            "Delivered", "Returning", "Returned"]
    return {
        "shipping_info": {"shipper_address": {"country": "CN", "city": "绍兴市"},
                          "recipient_address": {"country": "CN", "city": "上海市"}},
        "latest_status": {"status": status, "sub_status": sub, "sub_status_descr": None},
        "latest_event": events[0],
        "time_metrics": {"days_after_order": 2, "days_of_transit": 2},
        "milestone": [{"key_stage": k, "time_iso": milestones.get(k, (None, None))[0],
                       "time_utc": milestones.get(k, (None, None))[1]} for k in keys],
        "misc_info": {"local_number": None, "local_provider": None},
        "tracking": {"providers_hash": 1, "providers": [{
            "provider": {"key": 3011, "name": "China Post", "country": "CN"},
            "service_type": None, "latest_sync_status": "Success",
            "latest_sync_time": "2026-06-03T00:00:00Z", "events_hash": 1, "events": events}]},
    }


def make_webhook(number: str, scenario: str, *, token: str = TOKEN, event: str = "TRACKING_UPDATED",
                 sign: str | None = None, carrier: int = 3011) -> tuple[bytes, dict]:
    """Return (raw JSON body, headers) of a webhook; `sign=""` omits the header."""
    body = json.dumps({"event": event, "data": {"number": number, "carrier": carrier, "param": None,
                                                "tag": None, "track_info": track_info(scenario)}},
                      ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if sign != "":
        headers["sign"] = sign if sign is not None else hashlib.sha256(body + b"/" + token.encode()).hexdigest()
    return body, headers


class SeventeenTrackFake(FakeAggregator):
    __doc__ = __doc__

    def __init__(self, *, token: str = TOKEN, unregistered=(), rate_limit_per_sec: float | None = None, **kw):
        super().__init__(**kw)
        self.token = token
        self.unregistered: set[str] = set(unregistered)
        self.registered: set[str] = set()
        self.rate_limit_per_sec = rate_limit_per_sec
        self.quota_exhausted = False
        self.register_counts: Counter = Counter()
        self.calls: Counter = Counter()
        self._recent: deque = deque()
        self._rate_lock = threading.Lock()

    def _over_rate(self, arrived: float | None = None) -> bool:
        """More than `rate_limit_per_sec` requests in the second up to `arrived` (default: now)?

        Counted at the kernel's receive time when the server stamps requests
        (tests/fakes/recording.py), as a real carrier counts them on arrival,
        not when a handler thread of a busy fake gets around to it."""
        if not self.rate_limit_per_sec:
            return False
        at = time.time() if arrived is None else arrived
        with self._rate_lock:
            recent = [t for t in self._recent if at - 1.0 < t <= at]
            if len(recent) >= self.rate_limit_per_sec:
                return True
            # Handler threads may run out of arrival order: keep every accepted time of the last seconds.
            self._recent = deque(sorted([t for t in self._recent if t > at - 2.0] + [at]))
            return False

    def handle(self, request: Request) -> Response:
        path = request.path.rsplit("/", 1)[-1]
        if request.method != "POST" or path not in ("register", "gettrackinfo", "stoptrack"):
            return Response(b"<html><body>404 Not Found</body></html>", status=404, content_type="text/html")
        if request.headers.get("17token") != self.token:
            return self.json({"code": -18010002, "data": {"errors": [
                {"code": -18010002, "message": "The security key is invalid."}]}}, status=401)
        if self._over_rate(request.environ.get("yx.kernel_arrival")):
            return Response(b'{"code":429,"message":"Too Many Requests"}', status=429,
                            content_type="application/json", headers={"Retry-After": "1"})
        self.calls[path] += 1
        try:
            items = json.loads(request.get_data())
        except ValueError:
            return self.json({"code": -18010012, "data": {"errors": [{"code": -18010012, "message": "bad data"}]}})
        if not isinstance(items, list):
            return self.json({"code": -18010012, "data": {"errors": [{"code": -18010012, "message": "bad data"}]}})
        if len(items) > 40:
            return self.json({"code": -18010014, "data": {"errors": [
                {"code": -18010014, "message": "The number of tracking numbers exceeds 40."}]}})
        # Whole-request behaviours triggered by any number in the batch.
        for it in items:
            failure = self.transport_failure(self.scenario_for(str(it.get("number"))))
            if failure is not None:
                return failure
        accepted, rejected = [], []
        for it in items:
            number = str(it.get("number") or "")
            handler = self.register_one if path == "register" else self.query_one
            ok, payload = handler(number, it)
            (accepted if ok else rejected).append(payload)
        return self.json({"code": 0, "data": {"accepted": accepted, "rejected": rejected}})

    @staticmethod
    def _reject(number: str, code: int, message: str) -> tuple[bool, dict]:
        return False, {"number": number, "tag": None, "error": {"code": code, "message": message}}

    def register_one(self, number: str, item: dict) -> tuple[bool, dict]:
        self.register_counts[number] += 1
        scenario = self.scenario_for(number)
        if self.quota_exhausted:
            return self._reject(number, -18019908, "quota exhausted")
        if not (5 <= len(number) <= 50) or scenario == "bad_number":
            return self._reject(number, -18019910, "carrier code incorrect")
        if number in self.registered or (number not in self.unregistered and self.register_counts[number] > 1):
            return self._reject(number, -18019901, "already registered")
        self.registered.add(number)
        self.unregistered.discard(number)
        return True, {"number": number, "carrier": item.get("carrier") or 3011, "origin": 1, "tag": None}

    def query_one(self, number: str, item: dict) -> tuple[bool, dict]:
        self.count(number)
        scenario = self.scenario_for(number)
        if number in self.unregistered:
            return self._reject(number, -18019902, "not registered")
        if scenario == "bad_number":
            return self._reject(number, -18019910, "carrier code incorrect")
        if scenario == "phone_required":
            return self._reject(number, -18019903, "carrier cannot be detected")
        if scenario == "locked":
            return self._reject(number, -18019907, "daily tracking limit exceeded")
        steps = self.visible_steps(number, scenario) if scenario in STORIES else []
        return True, {"number": number, "carrier": item.get("carrier") or 3011, "tag": None,
                      "track_info": track_info(scenario, steps=steps)}
