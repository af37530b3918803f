"""Declarative base, the UTC datetime type, and SQLite connection settings."""
from datetime import datetime, timezone

from flask import has_request_context, request
from sqlalchemy import DateTime, Engine, MetaData, event
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """An aware datetime stored as UTC; naive values are refused.

    SQLite has no time zone type and hands back naive values, so the zone
    is stripped on the way in and UTC restored on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: give a time zone")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


_AUTOCOMMIT: dict[int, tuple[Engine, Engine]] = {}


def is_read_only_request() -> bool:
    """Whether the current request (if any) only reads: GET or HEAD."""
    return has_request_context() and request.method in ("GET", "HEAD")


def autocommit_engine(engine: Engine) -> Engine:
    """The engine's autocommit twin on PostgreSQL (same pool), the engine itself elsewhere."""
    if engine.dialect.name != "postgresql":
        return engine  # SQLite reads are cheap and its writer lock wants the explicit BEGIN IMMEDIATE
    known = _AUTOCOMMIT.get(id(engine))
    if known is None or known[0] is not engine:
        known = _AUTOCOMMIT[id(engine)] = (engine, engine.execution_options(isolation_level="AUTOCOMMIT"))
    return known[1]


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(timezone.utc)


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):
    # pysqlite's own transaction handling breaks SAVEPOINT (used by tests and
    # by the per-row savepoints of bulk import): switch it off and let
    # SQLAlchemy emit BEGIN itself (see the "begin" listener below).
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(connection):
    # IMMEDIATE takes the write lock up front: a deferred transaction that
    # reads and then writes fails at once with "database is locked" when
    # another connection writes meanwhile (the scheduler and the web pages
    # share one file), whereas IMMEDIATE waits its turn (busy_timeout).
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
