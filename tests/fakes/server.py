"""Run a WSGI app on 127.0.0.1 with an ephemeral port in a background thread."""

from __future__ import annotations

import contextlib
import threading
from typing import Callable, Iterator

from werkzeug.serving import WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # keep test output clean
        pass

    def log(self, *args, **kwargs):
        pass


def serve(app, host: str = "127.0.0.1") -> tuple[str, Callable[[], None]]:
    """Start `app` on host:<free port> (threaded); return (base_url, stop)."""
    server = make_server(host, 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fake-{type(app).__name__}", daemon=True)
    thread.start()
    stopped = False

    def stop() -> None:
        nonlocal stopped
        if stopped:
            return
        stopped = True
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return f"http://{host}:{server.server_port}", stop


@contextlib.contextmanager
def running(app, host: str = "127.0.0.1") -> Iterator[str]:
    """Context manager form of `serve`: yields the base URL, stops on exit."""
    url, stop = serve(app, host)
    try:
        yield url
    finally:
        stop()
