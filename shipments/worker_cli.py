"""`flask poll --once` and `flask worker`: the polling processes."""
import json
import logging
import signal
import sys
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from shipments.extensions import db
from shipments.services import polling


def _print_summary(summary, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(summary.as_dict(), ensure_ascii=False, sort_keys=True))
        return
    click.echo(f"claimed: {summary.claimed}  polled: {summary.polled}  updated: {summary.updated}  "
               f"failed: {summary.failed}  ({summary.seconds:.1f} s)")
    for name, stats in sorted(summary.providers.items()):
        click.echo(f"  {name}: claimed {stats.claimed}, polled {stats.polled}, updated {stats.updated}, "
                   f"failed {stats.failed}, subscribed {stats.subscribed}, deferred {stats.deferred}; "
                   f"circuit {summary.circuits.get(name, 'closed')}")


def _tune_for_polling() -> None:
    # Shorter GIL turns: a thread whose quota slot came up sends its request at
    # once instead of waiting behind the thread applying answers (quota pacing).
    sys.setswitchinterval(0.001)


def _stop_on_signals(stop: threading.Event, extra=None):
    def handler(signum, frame):
        click.echo(f"signal {signum}: finishing the calls in flight, then stopping", err=True)
        stop.set()
        if extra:
            extra()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handler)


@click.command("poll")
@click.option("--once", is_flag=True, help="Run one full cycle and exit (for cron, tests, debugging).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON line.")
@with_appcontext
def poll_command(once, as_json):
    """Poll the carriers for due shipments."""
    stop = threading.Event()
    _stop_on_signals(stop)
    _tune_for_polling()
    while True:
        summary = polling.poll_once(db.session, current_app.config, stop=stop)
        _print_summary(summary, as_json)
        if once or stop.is_set():
            break
        stop.wait(float(current_app.config["POLL_TICK_SECONDS"]))
        if stop.is_set():
            break


@click.command("worker")
@with_appcontext
def worker_command():
    """Run the scheduled jobs (poll ticks, sweeps) until SIGTERM."""
    from shipments import jobs

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _tune_for_polling()
    scheduler, runner = jobs.blocking_scheduler(current_app._get_current_object())
    # Shut the scheduler down from another thread, never inside the signal handler:
    # the handler runs on the main thread, which may be inside the executor's
    # submit() holding its (non-reentrant) lock, and shutdown() takes that lock too.
    _stop_on_signals(runner.stop, lambda: threading.Thread(
        target=scheduler.shutdown, kwargs={"wait": False}, name="worker-stop").start())
    click.echo(f"worker: {len(jobs.JOBS)} jobs: " + ", ".join(job.id for job in jobs.JOBS))
    scheduler.start()  # blocks until a signal shuts it down
    runner.wait_idle(timeout=float(current_app.config["POLL_LEASE_SECONDS"]))
    click.echo("worker stopped")


def register(app):
    """Add the polling commands to the app."""
    app.cli.add_command(poll_command)
    app.cli.add_command(worker_command)
