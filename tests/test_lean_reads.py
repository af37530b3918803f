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


def test_postgres_connections_run_without_jit(app):
    """Compiling a plan costs tens of ms; our reads are indexed and return a handful of rows."""
    if app.config["DB_KIND"] != "postgresql":
        pytest.skip("JIT is PostgreSQL's")
    with app.app_context():
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("SHOW jit").scalar() == "off"


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


@pytest.fixture
def redis_limits(monkeypatch):
    """The running app's limiter on a real Redis (TEST_REDIS_URL), counting the round trips made to it."""
    import os
    import uuid

    import redis
    from limits.storage import RedisStorage

    sent = []

    class Counting(redis.Connection):
        def send_packed_command(self, command, check_health=True):
            sent.append(command)
            return super().send_packed_command(command, check_health)

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/2")
    pool = redis.ConnectionPool.from_url(url, connection_class=Counting, socket_connect_timeout=1)
    try:
        redis.Redis(connection_pool=pool).ping()
    except redis.RedisError:
        pytest.skip("Redis is not reachable")
    # Keys of this test only (limiter.reset() would clear every test's).
    storage = RedisStorage(url, connection_pool=pool, key_prefix=f"test-{uuid.uuid4().hex[:8]}")
    monkeypatch.setattr(limiter, "_storage", storage)
    monkeypatch.setattr(limiter, "_storage_dead", False)
    sent.clear()
    yield storage, sent
    storage.reset()


def test_public_lookup_limits_take_one_redis_round_trip(app, client, create_shipment, redis_limits, monkeypatch):
    """Found: one round trip for all three windows; a miss: one more (the per-number count), and the limits hold."""
    if not limiter.enabled:
        pytest.skip("another app in this process switched the (global) limiter off")
    from limits import parse
    from limits.strategies import FixedWindowRateLimiter

    storage, sent = redis_limits
    monkeypatch.setitem(app.config, "TRACK_RATE_LIMIT", "5 per minute;50 per hour")
    monkeypatch.setitem(app.config, "TRACK_NUMBER_RATE_LIMIT", "2 per hour")
    shipment = create_shipment(phone_last4="1357")
    url = f"/api/v1/track/{shipment.tracking_number}"
    client.get(url, query_string={"phone_last4": "1357"})  # the script is loaded on first use
    sent.clear()
    found = client.get(url, query_string={"phone_last4": "1357"})
    assert found.status_code == 200 and len(sent) == 1
    assert found.headers["X-RateLimit-Limit"] == "5" and found.headers["X-RateLimit-Remaining"] == "3"
    sent.clear()
    assert client.get(url, query_string={"phone_last4": "0000"}).status_code == 404 and len(sent) == 2
    assert client.get(url, query_string={"phone_last4": "0000"}).status_code == 404
    # The windows are the limits library's own: its fixed-window strategy reads the same counts.
    stats = FixedWindowRateLimiter(storage).get_window_stats(parse("2 per hour"), "track-number", "127.0.0.1",
                                                             shipment.tracking_number)
    assert stats.remaining == 0
    third = client.get(url, query_string={"phone_last4": "0000"})  # two misses for this number: refused
    assert third.status_code == 429 and third.is_json and int(third.headers["Retry-After"]) > 0
    assert client.get(url, query_string={"phone_last4": "1357"}).status_code == 429  # 5 a minute for this client
    other = client.get(url, query_string={"phone_last4": "1357"}, environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert other.status_code == 200
