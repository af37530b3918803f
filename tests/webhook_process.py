"""Run the webhook delivery job in its own process until SIGTERM: `python -m tests.webhook_process '<overrides JSON>'`.

What `flask worker` runs for the `webhook_deliveries` job (deliver_once, one
cycle after another), with settings the environment cannot carry. SIGTERM
stops it the way it stops `flask worker`: no new claims, the requests in
flight finish and are recorded. Prints the totals as one JSON line.
"""
import json
import logging
import signal
import sys
import threading
import time

from shipments import create_app
from shipments.extensions import db
from shipments.services.webhooks import delivery


def main(argv):
    overrides = json.loads(argv[1])
    logging.basicConfig(level=overrides.pop("LOG_LEVEL", "WARNING"), stream=sys.stderr)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    app = create_app(overrides)
    totals = {"claimed": 0, "delivered": 0, "retried": 0, "failed": 0, "lost": 0, "cycles": 0}
    with app.app_context():
        print("ready", flush=True)
        cpu = time.process_time()
        while not stop.is_set():
            summary = delivery.deliver_once(db.session, app.config, stop=stop, until_idle=False)
            for key in totals:
                totals[key] += getattr(summary, key, 0)
            totals["cycles"] += 1
        totals["cpu_seconds"] = round(time.process_time() - cpu, 3)  # after start-up: the deliveries' cost
        db.session.remove()
    print(json.dumps(totals), flush=True)


if __name__ == "__main__":
    main(sys.argv)
