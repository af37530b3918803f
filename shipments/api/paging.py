"""Keyset pages for the API's lists."""
from typing import Any, Callable

from sqlalchemy import Select

from shipments.extensions import db


def keyset_page(query: Select, limit: int, cursor: Callable[[Any], Any] = lambda row: row.id,
                key: str = "next_cursor") -> dict:
    """At most `limit` rows of a keyset query, and under `key` the cursor of the last one when more follow.

    One more row than asked is fetched: whether it exists says whether there is a next page, without a count.
    """
    rows = db.session.scalars(query.limit(limit + 1)).all()
    return {"items": rows[:limit], key: cursor(rows[limit - 1]) if len(rows) > limit else None}
