"""The app on a real socket for the browser tests: one way to start it and to stop it cleanly."""
import threading
import time
from contextlib import contextmanager

from werkzeug.serving import make_server

from shipments.extensions import db


@contextmanager
def serving(app):
    """Serve `app` on a free loopback port; yield its base URL.

    On the way out the server stops, its thread ends and the app's pooled connections are
    closed, so the test's SQLite file is not held open by a finished module.
    """
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        with app.app_context():
            db.engine.dispose()


def wait_for_dashboard(page, seconds: float = 20) -> None:
    """Wait until the dashboard's charts have drawn (`window.dashboardReady`).

    Not `page.wait_for_function`: it re-checks a string predicate with eval inside the page, which
    the pages' Content-Security-Policy forbids, so it fails whenever the first check comes too early
    (a loaded machine). `evaluate` goes through DevTools, so poll with it from Python.
    """
    deadline = time.monotonic() + seconds
    while not page.evaluate("window.dashboardReady === true"):
        assert time.monotonic() < deadline, "the dashboard's charts never finished"
        page.wait_for_timeout(100)
