"""The worker's jobs: one table, run by APScheduler 3.11.

`flask worker` runs them in a BlockingScheduler (any number of workers on any
number of machines: poll ticks are safe to run side by side thanks to SKIP
LOCKED claims; the sweeps take a PostgreSQL advisory lock so only one runs at
a time). The dev server runs them in a BackgroundScheduler when
SCHEDULER_IN_PROCESS is on, started once (in the reloader's child, or in the
only process without reloader), guarded by a PostgreSQL advisory lock so two
in-process schedulers never run at once. Nothing starts at import.
"""
from __future__ import annotations

import logging
import os
import threading
import zlib
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import text

from shipments.db import utcnow
from shipments.extensions import db
from shipments.services import carriers, health, import_jobs, poll_log, polling, reports, sweeps
from shipments.services.schedule import PollPolicy
from shipments.services.webhooks import delivery as webhook_delivery

log = logging.getLogger(__name__)


def poll_tick(session, config, stop):
    """Poll what is due (the cycle commits as it goes)."""
    summary = polling.poll_once(session, config, stop=stop)
    if summary.claimed:
        log.info("poll tick: claimed %s polled %s updated %s failed %s", summary.claimed, summary.polled,
                 summary.updated, summary.failed)


def expiry_sweep(session, config, stop):
    """Expire shipments without news for too long."""
    count = sweeps.expire_stale_shipments(session, now=utcnow(), policy=PollPolicy.from_config(config))
    session.commit()
    log.info("expiry sweep: %s expired", count)


def pickup_overdue_sweep(session, config, stop):
    """Flag shipments with no pickup scan a day after registration (once each)."""
    count = sweeps.flag_pickup_overdue(session, now=utcnow(), hours=float(config["PICKUP_OVERDUE_HOURS"]))
    session.commit()
    log.info("pickup-overdue sweep: %s flagged", count)


def late_perishable_sweep(session, config, stop):
    """Flag perishable shipments past their program's delivery deadline (once each)."""
    count = sweeps.flag_late_perishables(session, now=utcnow())
    session.commit()
    log.info("late-perishable sweep: %s flagged", count)


def provider_sweep(session, config, stop):
    """Move shipments of unassigned or switched-off providers to an enabled one."""
    count = polling.reassign_providers(session, config)
    session.commit()
    if count:
        log.info("provider sweep: %s shipments moved to an enabled provider", count)


def finish_imports(session, config, stop):
    """Carry on bulk imports that outlived their request (or whose process died)."""
    from flask import current_app

    count = import_jobs.finish_pending(session, import_jobs.folder(config, current_app.instance_path),
                                       carriers.provider_settings(config),
                                       chunk_rows=int(config["IMPORT_CHUNK_ROWS"]), stop=stop.is_set)
    if count:
        log.info("imports: %s finished in the background", count)


def rollup_fold(session, config, stop):
    """Fold the report deltas written by the shipments triggers into the rollups."""
    count = reports.refresh_rollups(session)
    session.commit()
    if count:
        log.info("rollup fold: %s deltas folded", count)


def webhook_deliveries(session, config, stop):
    """Send due webhook deliveries (the cycle commits as it goes)."""
    if not webhook_delivery.any_active_subscription(session):
        return  # no subscriber: no cycle polling the outbox (and on SQLite no write lock taken 5 times a second)
    summary = webhook_delivery.deliver_once(session, config, stop=stop, until_idle=False)
    if summary.claimed:
        log.info("webhook deliveries: claimed %s delivered %s retried %s failed %s", summary.claimed,
                 summary.delivered, summary.retried, summary.failed)


def poll_log_retention(session, config, stop):
    """Summarise and delete poll log rows older than POLL_LOG_KEEP_DAYS, a batch per commit."""
    total = 0
    while not stop.is_set():
        count = poll_log.summarise_old_polls(session, utcnow(), int(config["POLL_LOG_KEEP_DAYS"]))
        session.commit()
        total += count
        if not count:
            break
    if total:
        log.info("poll log retention: %s rows summarised", total)


@dataclass(frozen=True)
class Job:
    id: str
    func: Callable
    interval_setting: str
    singleton: bool  # one run at a time across all processes (advisory lock on PostgreSQL)


JOBS = (
    Job("poll_tick", poll_tick, "POLL_TICK_SECONDS", singleton=False),
    Job("expiry_sweep", expiry_sweep, "SWEEP_INTERVAL_SECONDS", singleton=True),
    Job("pickup_overdue_sweep", pickup_overdue_sweep, "SWEEP_INTERVAL_SECONDS", singleton=True),
    Job("late_perishable_sweep", late_perishable_sweep, "SWEEP_INTERVAL_SECONDS", singleton=True),
    Job("provider_sweep", provider_sweep, "SWEEP_INTERVAL_SECONDS", singleton=True),
    Job("rollup_fold", rollup_fold, "ROLLUP_FOLD_SECONDS", singleton=True),
    Job("finish_imports", finish_imports, "IMPORT_TICK_SECONDS", singleton=False),  # SKIP LOCKED claims
    Job("webhook_deliveries", webhook_deliveries, "WEBHOOK_TICK_SECONDS", singleton=False),
    Job("poll_log_retention", poll_log_retention, "SWEEP_INTERVAL_SECONDS", singleton=True),
)

SCHEDULER_LOCK = "yuexiang:in-process-scheduler"


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a name."""
    return zlib.crc32(f"yuexiang:{name}".encode()) - 2 ** 31


class JobRunner:
    """Runs jobs inside the app context with a fresh session; counts running jobs for a clean stop."""

    def __init__(self, app):
        self.app = app
        self.stop = threading.Event()
        self._running = 0
        self._idle = threading.Condition()

    def run(self, job: Job):
        if self.stop.is_set():
            return
        with self._idle:
            self._running += 1
        try:
            with self.app.app_context():
                try:
                    if job.singleton and not _try_job_lock(db.session, job.id):
                        log.info("job %s: another process is running it", job.id)
                        return
                    job.func(db.session, self.app.config, self.stop)
                    health.record_heartbeat(db.session)
                    db.session.commit()
                except Exception:
                    db.session.rollback()
                    log.exception("job %s failed", job.id)
                finally:
                    db.session.rollback()  # ends the lock's transaction if the job left one open
                    db.session.remove()
        finally:
            with self._idle:
                self._running -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no job runs; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._running == 0, timeout=timeout)


def _try_job_lock(session, name: str) -> bool:
    # A transaction-level lock: released by the job's own commit, or at the latest
    # by the runner's rollback. SQLite has one writer and one scheduler anyway.
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": lock_key(name)}).scalar())


def add_jobs(scheduler, runner: JobRunner) -> None:
    """Put the job table on a scheduler: explicit ids, coalesce, one instance each."""
    for job in JOBS:
        scheduler.add_job(runner.run, "interval", args=[job], id=job.id, name=job.id,
                          seconds=float(runner.app.config[job.interval_setting]),
                          coalesce=True, max_instances=1, replace_existing=True,
                          misfire_grace_time=int(runner.app.config[job.interval_setting]),
                          next_run_time=utcnow())


def blocking_scheduler(app):
    """The `flask worker` scheduler and its runner."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(timezone="UTC")
    runner = JobRunner(app)
    add_jobs(scheduler, runner)
    return scheduler, runner


# -- in-process (dev server) ---------------------------------------------------
_in_process = {}


def _dev_server_wants_scheduler() -> bool | None:
    """Inside `flask run`: True in the process that serves, False in a reloader's parent.

    Returns None outside `flask run`.
    """
    import click
    from flask.helpers import get_debug_flag

    ctx = click.get_current_context(silent=True)
    if ctx is None or ctx.info_name != "run":
        return None
    reload = ctx.params.get("reload")
    if reload is None:
        reload = get_debug_flag()
    return os.environ.get("WERKZEUG_RUN_MAIN") == "true" or not reload


def init_app(app) -> None:
    """Start the in-process scheduler when this process should run one (see module doc)."""
    serving = _dev_server_wants_scheduler()
    flag = app.config.get("SCHEDULER_IN_PROCESS")
    if flag is None:
        flag = serving is not None  # on for the dev server, off elsewhere (gunicorn, CLI)
    if not flag or serving is False:
        return
    if serving is None and os.environ.get("FLASK_RUN_FROM_CLI") == "true":
        return  # another `flask` command (poll, worker, db …): never a background scheduler
    start_in_process(app)


def start_in_process(app):
    """Start the background scheduler once per process; None when another process holds the lock."""
    if app.import_name in _in_process:
        return _in_process[app.import_name][0]
    from apscheduler.schedulers.background import BackgroundScheduler

    with app.app_context():
        lock_connection = None
        if db.engine.dialect.name == "postgresql":
            lock_connection = db.engine.connect()
            got = lock_connection.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                          {"key": lock_key(SCHEDULER_LOCK)}).scalar()
            lock_connection.commit()
            if not got:
                lock_connection.close()
                log.info("in-process scheduler: another process runs it")
                return None
    scheduler = BackgroundScheduler(timezone="UTC", daemon=True)
    runner = JobRunner(app)
    add_jobs(scheduler, runner)
    scheduler.start()
    _in_process[app.import_name] = (scheduler, runner, lock_connection)
    log.info("in-process scheduler started (%s jobs)", len(JOBS))
    return scheduler


def stop_in_process(app) -> None:
    """Stop this process's background scheduler, if any, and drop its lock."""
    entry = _in_process.pop(app.import_name, None)
    if not entry:
        return
    scheduler, runner, lock_connection = entry
    runner.stop.set()
    scheduler.shutdown(wait=True)
    if lock_connection is not None:
        lock_connection.close()  # ends the session: the advisory lock goes with it
