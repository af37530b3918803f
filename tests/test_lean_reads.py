"""Reads cost what they must: no transaction around GET on PostgreSQL, no ping, no limiter check where no limit applies."""
import pytest
from sqlalchemy import event

from shipments.extensions import db, limiter


@pytest.fixture
def statements(app):
    """(statement, autocommit?) for every statement the app's own engine runs during the test."""
    seen = []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, parameters, context, executemany):
        dbapi = conn.connection.dbapi_connection
        seen.append((statement, getattr(dbapi, "autocommit", None)))

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_get_reads_without_a_transaction_on_postgres_and_post_keeps_one(app, statements):
    if app.config["DB_KIND"] != "postgresql":
        pytest.skip("SQLite keeps BEGIN IMMEDIATE (one writer)")
    client = app.test_client()  # the app's own session, not the tests' savepoint session
    assert client.get("/api/v1/track/ZZ9999999999?phone_last4=1234").status_code == 404
    assert statements and all(autocommit for _, autocommit in statements)
    statements.clear()
    client.post("/api/v1/shipments", json={})  # 401, before any statement …
    client.get("/healthz")
    assert all(autocommit for _, autocommit in statements)
    with app.test_request_context("/anything", method="POST"):
        db.session.execute(db.select(1))
        assert statements[-1][1] is False  # … and writes keep their transaction
        db.session.rollback()
        db.session.remove()


def test_no_ping_per_checkout_and_connections_recycled(app):
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert not options.get("pool_pre_ping") and options["pool_recycle"] > 0


def test_livez_answers_without_the_database(app, statements):
    response = app.test_client().get("/livez")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    assert statements == []


def test_limiter_checks_only_routes_with_limits(app):
    assert limiter._check_request_limit not in app.before_request_funcs.get(None, [])
    if not limiter.enabled:
        pytest.skip("another app in this process switched the (global) limiter off")
    client = app.test_client()
    limits = [client.get("/api/v1/track/ZZ8888888888?phone_last4=1234").headers.get("X-RateLimit-Limit")
              for _ in range(2)]
    assert limits[0] is not None  # the public lookup is still limited (tests/test_public.py: 429s)
    assert "X-RateLimit-Limit" not in client.get("/livez").headers
