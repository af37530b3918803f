"""Test fixtures: a real database (SQLite always, PostgreSQL when
TEST_DATABASE_URL is set), rolled back after each test."""
import os

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy.orm import scoped_session, sessionmaker

from shipments import create_app
from shipments.extensions import db
from shipments.services import reference

pytest_plugins = ["tests.factories"]

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
DATABASES = ["sqlite"] + (["postgresql"] if TEST_DATABASE_URL else [])


def pytest_report_header(config):
    return f"databases: {', '.join(DATABASES)}" + ("" if TEST_DATABASE_URL else " (set TEST_DATABASE_URL to add PostgreSQL)")


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(f"database tests ran on: {', '.join(DATABASES)}")


def reset_postgres_schema(url: str) -> None:
    """Empty the test database so migrations build it from nothing."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def database_url(kind: str, tmp_path_factory) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
    reset_postgres_schema(TEST_DATABASE_URL)
    return TEST_DATABASE_URL


@pytest.fixture(scope="session", params=DATABASES)
def app(request, tmp_path_factory):
    """The app on a freshly migrated database, once per database kind."""
    url = database_url(request.param, tmp_path_factory)
    app = create_app({
        "TESTING": True,
        "DATABASE_URL": url,
        "SECRET_KEY": "test-secret",
        "SCHEDULER_IN_PROCESS": False,
        "WTF_CSRF_ENABLED": True,
        # Every request looks its token up (tests/test_api_auth.py covers the remembered path).
        "API_TOKEN_CACHE_SECONDS": 0,
    })
    app.config["DB_KIND"] = request.param
    with app.app_context():
        upgrade()
        # Static reference data, shared by every test (never changed by one).
        reference.load_divisions(db.session)
        reference.load_provinces(db.session)
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def db_session(app):
    """A session inside an outer transaction that is rolled back afterwards.

    Code under test may commit: with create_savepoint, its commits only
    release savepoints inside the outer transaction.
    """
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        # A plain SQLAlchemy Session: Flask-SQLAlchemy's own get_bind would
        # ignore the connection and pick the engine.
        db.session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint"), scopefunc=_app_ctx_id
        )
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture
def fresh_limits():
    """Rate limits counted from zero in this test (and forgotten after it)."""
    from shipments.extensions import limiter
    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture
def client(app, db_session):
    return app.test_client()
