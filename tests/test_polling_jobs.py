"""Jobs, sweeps and the polling processes (`flask poll --once`, `flask worker`)."""
import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import create_engine, select, text

from integrations.sandbox.timeline import make_number
from shipments import create_app, jobs
from shipments.db import utcnow
from shipments.models import Shipment
from shipments.models.enums import ShipmentStatus, StopReason
from tests.polling_support import ROOT, fresh_database, seed_due


def test_job_table_has_explicit_ids_coalesce_and_one_instance(app):
    scheduler = BackgroundScheduler(timezone="UTC")
    jobs.add_jobs(scheduler, jobs.JobRunner(app))
    added = {job.id: job for job in scheduler.get_jobs()}
    assert set(added) == {"poll_tick", "expiry_sweep", "pickup_overdue_sweep", "late_perishable_sweep",
                          "provider_sweep", "rollup_fold", "poll_log_retention", "finish_imports",
                          "webhook_deliveries"}
    assert all(job.coalesce and job.max_instances == 1 for job in added.values())
    assert added["poll_tick"].trigger.interval == timedelta(seconds=app.config["POLL_TICK_SECONDS"])


def job(name):
    return next(j for j in jobs.JOBS if j.id == name)


def test_expiry_sweep(app, db_session, create_shipment):
    now = utcnow()
    stale = create_shipment(registered_at=now - timedelta(days=40), last_event_at=now - timedelta(days=31),
                            status=ShipmentStatus.IN_TRANSIT, next_poll_at=now)
    fresh = create_shipment(registered_at=now - timedelta(days=40), last_event_at=now - timedelta(days=3),
                            status=ShipmentStatus.IN_TRANSIT, next_poll_at=now)
    jobs.JobRunner(app).run(job("expiry_sweep"))
    db_session.expire_all()
    assert (stale.status, stale.stop_reason, stale.next_poll_at) == (ShipmentStatus.EXPIRED,
                                                                      StopReason.EXPIRED_NO_NEWS, None)
    assert fresh.status == ShipmentStatus.IN_TRANSIT and fresh.next_poll_at is not None


def test_rollup_fold_empties_the_deltas_and_keeps_the_figures(app, db_session, create_shipment):
    from sqlalchemy import func, select

    from shipments.models.reports import ReportDelta
    from shipments.services import reports

    create_shipment(pieces=3)
    create_shipment(pieces=2)
    db_session.flush()
    before = reports.reconcile(db_session)
    assert db_session.scalar(select(func.count()).select_from(ReportDelta)) > 0
    jobs.JobRunner(app).run(job("rollup_fold"))
    assert db_session.scalar(select(func.count()).select_from(ReportDelta)) == 0
    assert reports.reconcile(db_session) == before == []


def test_pickup_overdue_is_flagged_once(app, db_session, create_shipment):
    now = utcnow()
    waiting = create_shipment(registered_at=now - timedelta(hours=25))
    young = create_shipment(registered_at=now - timedelta(hours=2))
    picked = create_shipment(registered_at=now - timedelta(hours=30), picked_up_at=now - timedelta(hours=20),
                             status=ShipmentStatus.IN_TRANSIT)
    runner = jobs.JobRunner(app)
    runner.run(job("pickup_overdue_sweep"))
    db_session.expire_all()
    first = waiting.pickup_overdue_at
    assert first is not None and young.pickup_overdue_at is None and picked.pickup_overdue_at is None
    runner.run(job("pickup_overdue_sweep"))
    db_session.expire_all()
    assert waiting.pickup_overdue_at == first  # flagged once, not on every run


def test_late_perishables_are_flagged_once(app, db_session, create_program, create_shipment):
    now = utcnow()
    bayberries = create_program(perishable=True, deadline_hours=48)
    pearls = create_program()
    late = create_shipment(program=bayberries, registered_at=now - timedelta(hours=80),
                           picked_up_at=now - timedelta(hours=60), status=ShipmentStatus.IN_TRANSIT)
    delivered_late = create_shipment(program=bayberries, registered_at=now - timedelta(hours=100),
                                     picked_up_at=now - timedelta(hours=90), delivered_at=now - timedelta(hours=10),
                                     status=ShipmentStatus.DELIVERED)
    on_time = create_shipment(program=bayberries, registered_at=now - timedelta(hours=100),
                              picked_up_at=now - timedelta(hours=90), delivered_at=now - timedelta(hours=60),
                              status=ShipmentStatus.DELIVERED)
    still_ok = create_shipment(program=bayberries, registered_at=now - timedelta(hours=30))
    not_perishable = create_shipment(program=pearls, registered_at=now - timedelta(hours=200))
    jobs.JobRunner(app).run(job("late_perishable_sweep"))
    db_session.expire_all()
    assert late.late_flagged_at and delivered_late.late_flagged_at
    assert not (on_time.late_flagged_at or still_ok.late_flagged_at or not_perishable.late_flagged_at)


def test_singleton_job_skips_while_another_process_runs_it(app, db_session, create_shipment):
    if app.config["DB_KIND"] != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    now = utcnow()
    stale = create_shipment(registered_at=now - timedelta(days=40), status=ShipmentStatus.PENDING)
    other = create_engine(app.config["DATABASE_URL"])
    with other.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": jobs.lock_key("expiry_sweep")})
        jobs.JobRunner(app).run(job("expiry_sweep"))
        db_session.expire_all()
        assert stale.status == ShipmentStatus.PENDING  # skipped: someone else holds the lock
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": jobs.lock_key("expiry_sweep")})
    other.dispose()
    jobs.JobRunner(app).run(job("expiry_sweep"))
    db_session.expire_all()
    assert stale.status == ShipmentStatus.EXPIRED


def flask_env(url):
    env = dict(os.environ, FLASK_APP="wsgi", DATABASE_URL=url, SECRET_KEY="test", PYTHONPATH=str(ROOT))
    for name in ("REDIS_URL", "KUAIDI100_KEY", "KDNIAO_APP_KEY", "SEVENTEENTRACK_TOKEN", "SCHEDULER_IN_PROCESS"):
        env.pop(name, None)
    return env


@pytest.fixture(scope="module")
def sandbox_db():
    with fresh_database(None) as url:
        seed_due(url, [make_number(70 + i) for i in range(3)], carrier="sandbox", provider="sandbox",
                 registered_hours_ago=72)
        yield url


def test_flask_poll_once_prints_a_summary_and_exits_0(sandbox_db):
    done = subprocess.run([sys.executable, "-m", "flask", "poll", "--once"], cwd=ROOT, env=flask_env(sandbox_db),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "claimed: 3  polled: 3  updated: 3  failed: 0" in done.stdout
    assert "sandbox: claimed 3, polled 3, updated 3, failed 0" in done.stdout
    again = subprocess.run([sys.executable, "-m", "flask", "poll", "--once", "--json"], cwd=ROOT,
                           env=flask_env(sandbox_db), capture_output=True, text=True, timeout=60)
    summary = json.loads(again.stdout)
    assert again.returncode == 0 and (summary["claimed"], summary["polled"]) == (0, 0)
    engine = create_engine(sandbox_db)
    with engine.connect() as conn:
        assert all(conn.execute(select(Shipment.last_polled_at)).scalars())
    engine.dispose()


def test_flask_worker_stops_gracefully_on_sigterm(sandbox_db):
    worker = subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=ROOT, env=flask_env(sandbox_db),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = worker.stdout.readline()
        assert first.startswith(f"worker: {len(jobs.JOBS)} jobs: poll_tick"), first
        time.sleep(1.0)  # let the first poll tick and sweeps run
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, err
    assert "worker stopped" in out


def test_in_process_scheduler_starts_once_and_stops(monkeypatch):
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)
    with fresh_database(None) as url:
        off = create_app({"DATABASE_URL": url, "SECRET_KEY": "t", "SCHEDULER_IN_PROCESS": False})
        assert off.import_name not in jobs._in_process
        on = create_app({"DATABASE_URL": url, "SECRET_KEY": "t", "SCHEDULER_IN_PROCESS": True})
        try:
            scheduler = jobs._in_process[on.import_name][0]
            assert scheduler.running and len(scheduler.get_jobs()) == len(jobs.JOBS)
            assert jobs.start_in_process(on) is scheduler  # once per process
        finally:
            jobs.stop_in_process(on)
        assert on.import_name not in jobs._in_process
        # Inside another `flask` command (poll, db …) it never starts.
        monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")
        cli = create_app({"DATABASE_URL": url, "SECRET_KEY": "t", "SCHEDULER_IN_PROCESS": True})
        assert cli.import_name not in jobs._in_process
        with on.app_context():
            from shipments.extensions import db
            db.engine.dispose()
