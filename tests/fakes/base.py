"""Shared machinery of the fake aggregators (WSGI apps built on werkzeug)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

from datetime import timedelta, timezone

from werkzeug.wrappers import Request, Response

from .scenarios import BASE_TIME, mixed_story_for, story

BEIJING = timezone(timedelta(hours=8))

HTML_PAGE = b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
MALFORMED = b'{"message":"ok","state":"0","data":[{"time":'


class FakeAggregator:
    """Base of the fakes. Runtime knobs (plain attributes, change them any time):

    - `scenarios`: dict number -> story or behaviour name (see tests.fakes.scenarios)
    - `default_scenario`: used for numbers not in `scenarios` (default "in_transit")
    - `latency`: seconds slept before every answer (default 0)
    - `mode`: None, or a behaviour applied to *every* request: "server_error",
      "timeout", "malformed", "html", "rate_limited" (HTTP 429), "bad_gateway" (HTTP 502)
    - `timeout_sleep`: seconds the "timeout" behaviour sleeps (default 2.0)
    - `force_status`: None or an HTTP status code returned (empty JSON body) for every request
    - `progressive`: if True, the n-th query of a number shows only the first n steps of its
      story (time advances one scan per poll); no steps yet -> "no record" answer
    - `clock`: None or a callable returning an aware datetime; only story steps at or before
      it are shown (stories start at `base_time`)
    - `base_time`: naive Beijing datetime the stories start at (default scenarios.BASE_TIME)
    Counters: `counts[number]` (queries per number), `requests` (total HTTP requests),
    `paths` (list of request paths), `client_ports` (client port per request),
    `client_ids` (per request, the id of the HTTP client: a cookie the fake hands out,
    so one requests.Session shows up as one id).
    `reset_counts()` clears them.
    """

    def __init__(self, *, scenarios: dict[str, str] | None = None, default_scenario: str = "in_transit",
                 latency: float = 0.0, mode: str | None = None, timeout_sleep: float = 2.0):
        self.scenarios = dict(scenarios or {})
        self.default_scenario = default_scenario
        self.latency = latency
        self.mode = mode
        self.timeout_sleep = timeout_sleep
        self.force_status: int | None = None
        self.progressive = False
        self.clock = None
        self.base_time = BASE_TIME
        self.counts: Counter = Counter()
        self.requests = 0
        self.paths: list[str] = []
        self.client_ports: list[int] = []  # REMOTE_PORT per request
        # werkzeug's dev server closes every connection (no keep-alive), so client reuse is
        # observed with a cookie instead: one requests.Session sends back the id it was given.
        self.client_ids: list[str] = []
        self._next_client = 0
        self._lock = threading.Lock()

    def scenario_for(self, number: str) -> str:
        """Return the story/behaviour name for a number ("mixed" resolved per number)."""
        name = self.scenarios.get(number, self.default_scenario)
        return mixed_story_for(number) if name == "mixed" else name

    def visible_steps(self, number: str, scenario: str) -> list:
        """Return the steps of `scenario` visible now (honours `progressive` and `clock`)."""
        steps = story(scenario, self.base_time)
        if self.clock is not None:
            now = self.clock().astimezone(BEIJING).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S")
            steps = [s for s in steps if s[0] <= now]
        if self.progressive:
            steps = steps[: self.counts[number]]
        return steps

    def reset_counts(self) -> None:
        with self._lock:
            self.counts.clear()
            self.requests = 0
            self.paths.clear()
            self.client_ports.clear()
            self.client_ids.clear()

    def count(self, number: str) -> int:
        with self._lock:
            self.counts[number] += 1
            return self.counts[number]

    # -- WSGI ---------------------------------------------------------------
    def __call__(self, environ, start_response):
        request = Request(environ)
        with self._lock:
            self.requests += 1
            self.paths.append(request.path)
            self.client_ports.append(int(environ.get("REMOTE_PORT") or 0))
            client_id = request.cookies.get("fake_client")
            new_client = client_id is None
            if new_client:
                self._next_client += 1
                client_id = str(self._next_client)
            self.client_ids.append(client_id)
        if self.latency:
            time.sleep(self.latency)
        response = self.transport_failure(self.mode) if self.mode else None
        if response is None and self.force_status is not None:
            response = Response(b"{}", status=self.force_status, content_type="application/json")
        if response is None:
            response = self.handle(request)
        if new_client:
            response.set_cookie("fake_client", client_id)
        return response(environ, start_response)

    def transport_failure(self, behaviour: str) -> Response | None:
        """Return the response of a transport-level behaviour, or None."""
        if behaviour == "server_error":
            return Response(b'{"message":"internal error"}', status=500, content_type="application/json")
        if behaviour == "bad_gateway":
            return Response(HTML_PAGE, status=502, content_type="text/html")
        if behaviour == "html":
            return Response(HTML_PAGE, status=200, content_type="text/html; charset=utf-8")
        if behaviour == "malformed":
            return Response(MALFORMED, status=200, content_type="application/json")
        if behaviour == "timeout":
            time.sleep(self.timeout_sleep)
            return Response(b"{}", status=200, content_type="application/json")
        if behaviour == "rate_limited":
            return Response(b'{"message":"Too Many Requests"}', status=429,
                            headers={"Retry-After": "2"}, content_type="application/json")
        return None

    def handle(self, request: Request) -> Response:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def json(payload, status: int = 200) -> Response:
        return Response(json.dumps(payload, ensure_ascii=False).encode("utf-8"), status=status,
                        content_type="application/json;charset=utf-8")
