"""Run one poll cycle in its own process: `python -m tests.poll_process '<config overrides as JSON>'`.

Used by the multi-process tests and bench/poller.py; prints the cycle's summary as one JSON line.
It calls the same function as `flask poll --once`, with settings the environment cannot carry.
"""
import json
import logging
import sys

from shipments import create_app
from shipments.extensions import db
from shipments.services import polling


def main(argv):
    sys.setswitchinterval(0.001)  # as `flask poll` and `flask worker` do
    overrides = json.loads(argv[1])
    logging.basicConfig(level=overrides.pop("LOG_LEVEL", "WARNING"), stream=sys.stderr)
    app = create_app(overrides)
    with app.app_context():
        summary = polling.poll_once(db.session, app.config)
        db.session.remove()
    print(json.dumps(summary.as_dict(), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main(sys.argv)
