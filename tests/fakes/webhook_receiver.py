"""A webhook receiver on a real socket: verifies signatures, counts event ids, answers as told.

    receiver = Receiver(secret="whsec_…")          # 200 for everything
    receiver = Receiver(status=500)                 # always 500
    receiver = Receiver(delay=30)                   # hangs (until stopped)
    url, stop = serve(receiver)
    receiver.counts[event_id]                       # deliveries per event id
"""
from __future__ import annotations

import json
import threading
import time
from collections import Counter

from shipments.services.webhooks.signing import verify


class Receiver:
    def __init__(self, secret: str | None = None, status: int = 200, delay: float = 0.0, headers=None):
        self.secret, self.status, self.delay, self.headers = secret, status, delay, dict(headers or {})
        self.counts: Counter = Counter()
        self.requests: list[dict] = []
        self.bad_signatures = 0
        self.arrivals: list[float] = []  # time.time() at arrival
        self.arrival_of: dict[str, float] = {}  # event id -> first arrival (time.time())
        self.concurrent = self.max_concurrent = 0
        self.keep_requests = True
        self._lock = threading.Lock()
        self.released = threading.Event()  # set to end a hang early

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        event_id = environ.get("HTTP_X_YUEXIANG_EVENT_ID", "")
        timestamp = environ.get("HTTP_X_YUEXIANG_TIMESTAMP", "")
        signature = environ.get("HTTP_X_YUEXIANG_SIGNATURE", "")
        good = self.secret is None or verify(self.secret, timestamp, body, signature)
        with self._lock:
            now = time.time()
            self.arrivals.append(now)
            self.arrival_of.setdefault(event_id, now)
            self.concurrent += 1
            self.max_concurrent = max(self.max_concurrent, self.concurrent)
            if not good:
                self.bad_signatures += 1
            if self.keep_requests:
                self.requests.append({"event_id": event_id, "timestamp": timestamp, "signature": signature,
                                      "body": body, "headers": {k: v for k, v in environ.items()
                                                                if k.startswith("HTTP_")}})
        try:
            if self.delay:
                self.released.wait(self.delay)
            status = self.status if good else 401
            if status < 300:
                with self._lock:
                    self.counts[event_id] += 1
            start_response(f"{status} X", [("Content-Type", "application/json"), *self.headers.items()])
            return [json.dumps({"ok": status < 300}).encode()]
        finally:
            with self._lock:
                self.concurrent -= 1
