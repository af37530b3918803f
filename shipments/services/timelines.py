"""A parcel's events as one JSON column of its shipment's row.

The shipment detail and the public track API read one shipment and its ~10
events. Joined, each event row repeats the shipment's columns and every value
goes through SQLAlchemy's type processing (11 rows × 44 columns for one
parcel); as a second statement it costs a second round trip. Here the
database aggregates the events into one JSON array in the shipment's row:
one statement, one row, and the driver parses the array in C.

On PostgreSQL the subquery reads ix_tracking_events_timeline alone (it
includes every column a timeline shows). The SQL is dialect-specific
(json_agg / json_group_array) and built once per dialect.
"""
from datetime import datetime, timezone
from functools import cache

from sqlalchemy import JSON, literal_column
from sqlalchemy.sql.elements import ColumnElement

from shipments.models import TrackingEvent

# Every column a timeline may show (ix_tracking_events_timeline includes them).
TIMELINE_COLUMNS = ("occurred_at", "status", "substatus", "location", "description", "raw_code", "source")


@cache
def events_column(columns: tuple[str, ...], dialect: str) -> ColumnElement:
    """The events of the row's shipment (`shipments.id`), as a JSON array of arrays
    [occurred_at, id, *columns], oldest first on PostgreSQL (events_from_json sorts in any case)."""
    unknown = set(columns) - set(TIMELINE_COLUMNS)
    if unknown:  # the names go into SQL text: only known column names
        raise ValueError(f"not a timeline column: {sorted(unknown)}")
    values = ", ".join(["e.occurred_at", "e.id", *(f"e.{name}" for name in columns)])
    if dialect == "postgresql":
        sql = (f"(SELECT coalesce(json_agg(json_build_array({values}) ORDER BY e.occurred_at, e.id), '[]'::json) "
               f"FROM tracking_events AS e WHERE e.shipment_id = shipments.id)")
    else:  # SQLite: json_group_array has no ORDER BY before 3.44
        sql = (f"(SELECT json_group_array(json_array({values})) "
               f"FROM tracking_events AS e WHERE e.shipment_id = shipments.id)")
    return literal_column(sql, type_=JSON)


def events_from_json(value, columns: tuple[str, ...]) -> list[dict]:
    """events_column's array as dicts of occurred_at and `columns`, valued as the ORM loads them (an
    aware UTC datetime, enum members), oldest first (by time, then id: the order of the events' index)."""
    if not value:
        return []
    names, enums = ("occurred_at", *columns), _enum_positions(columns)
    events = []
    for at, ident, row in sorted(((_utc(row[0]), row[1], row) for row in value), key=_by_time_and_id):
        values = [at, *row[2:]]
        for position, enum_class in enums:
            if values[position] is not None:
                values[position] = enum_class(values[position])
        events.append(dict(zip(names, values)))
    return events


def _by_time_and_id(entry) -> tuple:
    return entry[0], entry[1]


@cache
def _enum_positions(columns: tuple[str, ...]) -> tuple:
    """(position in an event's values, enum class) of the enum-typed columns (stored as their values)."""
    table = TrackingEvent.__table__.c
    return tuple((i + 1, table[name].type.enum_class) for i, name in enumerate(columns)
                 if getattr(table[name].type, "enum_class", None) is not None)


def _utc(text: str) -> datetime:
    """A stored time as the database wrote it into JSON (PostgreSQL: ISO with the session's offset;
    SQLite: the naive UTC text SQLAlchemy stored) as an aware UTC datetime."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
