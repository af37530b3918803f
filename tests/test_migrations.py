"""Migrations build the schema the models describe, on both databases."""
import os
import subprocess
import sys
import uuid
import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, make_url, text

from shipments.extensions import db


def _on_this_database(dialect: str):
    """Leave out what the models declare for another database only (Index.info["only"], with ddl_if)."""
    def include(obj, name, type_, reflected, compare_to):
        return (obj.info.get("only") or dialect) == dialect if type_ == "index" and not reflected else True
    return include


def test_models_and_migrations_agree(app, db_session):
    with app.app_context():
        dialect = db_session.connection().dialect.name
        context = MigrationContext.configure(db_session.connection(), opts={
            "compare_type": True, "include_object": _on_this_database(dialect)})
        with warnings.catch_warnings():
            # Alembic warns about an expression index before include_object leaves it out.
            for index in db.metadata.tables["shipments"].indexes:
                if index.info.get("only", dialect) != dialect:
                    warnings.filterwarnings("ignore", message=f".*expression-based index '{index.name}'")
            differences = compare_metadata(context, db.metadata)
    assert differences == []


@pytest.fixture
def empty_postgres_database():
    """A brand-new PostgreSQL database, dropped afterwards."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL not set")
    name = f"yx_cli_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def flask_cli(url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": url, "FLASK_APP": "wsgi"}
    result = subprocess.run([sys.executable, "-m", "flask", *args], env=env, capture_output=True, text=True,
                            timeout=120, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert result.returncode == 0, result.stderr
    return result.stdout


def table_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        counts = {table: conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
                  for table in db.metadata.tables}
    engine.dispose()
    return counts


def test_upgrade_then_demo_load_twice_is_idempotent_on_postgres(empty_postgres_database):
    flask_cli(empty_postgres_database, "db", "upgrade")
    flask_cli(empty_postgres_database, "demo", "load")
    once = table_counts(empty_postgres_database)
    flask_cli(empty_postgres_database, "demo", "load")
    assert table_counts(empty_postgres_database) == once
    assert once["programs"] == 7
    assert once["shipments"] >= 2000
