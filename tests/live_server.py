"""The app on a real socket for the browser tests: one way to start it and to stop it cleanly."""
import threading
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
