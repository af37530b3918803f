"""WSGI middleware that records when each request reached a fake carrier (for quota checks).

    recorder = Recorder(Kuaidi100Fake(latency=0.1))
    url, stop = serve(recorder)
    ...
    recorder.max_in_window(1.0)   # most requests seen in any one-second window
"""
from __future__ import annotations

import threading
import time
from collections import Counter


class Recorder:
    def __init__(self, app):
        self.app = app
        self.arrivals: list[float] = []  # time.monotonic() at arrival, before the fake's latency
        self.statuses: Counter = Counter()
        self._lock = threading.Lock()

    def __getattr__(self, name):  # the wrapped fake's knobs and counters
        return getattr(self.app, name)

    def __call__(self, environ, start_response):
        arrived = time.monotonic()
        with self._lock:
            self.arrivals.append(arrived)

        def recording_start_response(status, headers, exc_info=None):
            with self._lock:
                self.statuses[int(status.split(" ", 1)[0])] += 1
            return start_response(status, headers, exc_info)

        return self.app(environ, recording_start_response)

    def max_in_window(self, window: float = 1.0) -> int:
        """The largest number of arrivals inside any half-open window [t, t + window)."""
        times = sorted(self.arrivals)
        best, start = 0, 0
        for end, t in enumerate(times):
            while t - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    def rate(self) -> float:
        """Sustained arrivals per second: the mean count of the complete seconds since the first one."""
        times = sorted(self.arrivals)
        if len(times) < 2:
            return 0.0
        whole = int(times[-1] - times[0])
        if whole < 1:
            return float(len(times))
        return sum(1 for t in times if t - times[0] < whole) / whole


def serve_keepalive(app, host: str = "127.0.0.1"):
    """Like tests.fakes.server.serve, but HTTP/1.1 with keep-alive, as real carrier APIs answer.

    Reused connections keep connection set-up out of the path between the
    poller taking a quota slot and its request arriving.
    """
    import threading as _threading

    from werkzeug.serving import make_server

    from tests.fakes.server import _QuietHandler

    class _KeepAliveHandler(_QuietHandler):
        protocol_version = "HTTP/1.1"

    server = make_server(host, 0, app, threaded=True, request_handler=_KeepAliveHandler)
    thread = _threading.Thread(target=server.serve_forever, name="fake-keepalive", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return f"http://{host}:{server.server_port}", stop
