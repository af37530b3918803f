"""Helpers for tests and benchmarks that need real commits across processes.

`fresh_database()` creates a migrated database of its own (PostgreSQL when a
URL is given, else a SQLite file) and drops it afterwards; `seed_due()` adds
due shipments with one bulk INSERT; `run_poll_process()` starts
`python -m tests.poll_process` from the project root.
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

from shipments import create_app
from shipments.db import utcnow
from shipments.extensions import db
from shipments.models import Organisation, Shipment
from shipments.models.enums import OrganisationKind

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def fresh_database(base_url: str | None, prefix: str = "yx_poll"):
    """Yield the URL of a new, migrated database; drop it on exit."""
    if not base_url:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/poll.db"
            _migrate(url)
            yield url
        return
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(base_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrate(url: str) -> None:
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "test", "SCHEDULER_IN_PROCESS": False})
    with app.app_context():
        upgrade()
        db.session.add(Organisation(name="诸暨珍珠合作社", kind=OrganisationKind.COOPERATIVE))
        db.session.commit()
        db.engine.dispose()


def seed_due(url: str, numbers, *, carrier="yto", provider="kuaidi100", registered_hours_ago=2.0) -> None:
    """Insert due shipments for `numbers` (one statement)."""
    engine = create_engine(url)
    now = utcnow()
    with engine.begin() as conn:
        org_id = conn.execute(select(Organisation.id).limit(1)).scalar_one()
        rows = [{"carrier": carrier, "tracking_number": n, "provider": provider, "organisation_id": org_id,
                 "registered_at": now - timedelta(hours=registered_hours_ago), "next_poll_at": now - timedelta(seconds=1),
                 "status": "pending", "pieces": 1, "poll_failures": 0, "at_station": False,
                 "channel": "other", "direction": "outbound", "subscription_state": "none",
                 "created_at": now, "updated_at": now} for n in numbers]
        conn.execute(insert(Shipment), rows)
    engine.dispose()


def poll_command(overrides: dict) -> list[str]:
    return [sys.executable, "-m", "tests.poll_process", json.dumps(overrides)]


def start_poll_process(overrides: dict) -> subprocess.Popen:
    """Start one poll cycle in a child process (stdout: its JSON summary)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("REDIS_URL", None)
    return subprocess.Popen(poll_command(overrides), cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, timeout: float = 60) -> dict:
    """Wait for a poll process and return its summary (fail loudly on a crash)."""
    out, err = process.communicate(timeout=timeout)
    if process.returncode != 0:
        raise AssertionError(f"poll process exited {process.returncode}:\n{err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1])
