"""Which of our stations a carrier's scan names, decided once when the event is applied.

Reading "parcels scanned at this station" must never search event text (there
may be 100M events): services/tracking.py stores the matched station on the
event (tracking_events.station_id, a partial index) and readers use the index.

A scan names a station when its location or description contains the
station's name or one of its aliases, among the active stations of the
shipment's county (its destination station's county, else its origin's):
"王化村" is a village in one county only, and a county-wide list keeps the
patterns small. The longest name found wins; two stations equally long (an
alias shared by two) match neither. What follows "下一站"/"发往" is the next
stop, not where the parcel is, and is not read.

The names are loaded once per transaction into the session (a few thousand
rows at most) and forgotten when a station is flushed or the transaction ends.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import bindparam, event, select
from sqlalchemy.orm import Session

from shipments.models import Shipment, Station, TrackingEvent

_INFO_KEY = "network.station_names"
# Carriers name the next stop after these words; the parcel is not there yet.
_NEXT_STOP = re.compile(r"下一站|发往|下一站点|转运至|运往")
MIN_NAME_LENGTH = 2  # a one-character alias would match nearly anything


@dataclass
class _County:
    ids_by_name: dict[str, set[int]] = field(default_factory=dict)
    pattern: re.Pattern | None = None


class StationNames:
    """Station names and aliases per county, compiled for matching."""

    def __init__(self, rows):
        self.county_of: dict[int, str] = {}
        self.counties: dict[str, _County] = {}
        for station_id, name, aliases, division_code in rows:
            county = division_code[:6]
            self.county_of[station_id] = county
            names = self.counties.setdefault(county, _County()).ids_by_name
            for text in [name, *(aliases or [])]:
                text = (text or "").strip()
                if len(text) >= MIN_NAME_LENGTH:
                    names.setdefault(text, set()).add(station_id)
        for county in self.counties.values():
            # Longest first, so that at one position the longer name wins ("…服务站10" over "…服务站1").
            ordered = sorted(county.ids_by_name, key=lambda n: (-len(n), n))
            county.pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def county_of_shipment(self, destination_station_id, origin_station_id, origin_division_code) -> str | None:
        """The Shaoxing county whose stations a shipment's scans may name."""
        for station_id in (destination_station_id, origin_station_id):
            if station_id in self.county_of:
                return self.county_of[station_id]
        return origin_division_code[:6] if origin_division_code else None

    def match(self, county: str | None, location: str | None, description: str | None) -> int | None:
        """The id of the one station the scan names in this county, or None."""
        names = self.counties.get(county or "")
        if names is None or names.pattern is None:
            return None
        text = f"{location or ''} {_NEXT_STOP.split(description or '', maxsplit=1)[0]}"
        best, best_length = set(), 0
        for found in names.pattern.finditer(text):
            word = found.group(0)
            if len(word) > best_length:
                best, best_length = set(names.ids_by_name[word]), len(word)
            elif len(word) == best_length:
                best |= names.ids_by_name[word]
        return next(iter(best)) if len(best) == 1 else None


def station_names(session: Session) -> StationNames:
    """This transaction's station names (loaded on first use)."""
    names = session.info.get(_INFO_KEY)
    if names is None:
        rows = session.execute(select(Station.id, Station.name, Station.aliases, Station.division_code)
                               .where(Station.active.is_(True))).all()
        names = session.info[_INFO_KEY] = StationNames(rows)
    return names


def forget_station_names(session: Session) -> None:
    """Drop the loaded names (a station changed, or the transaction ended)."""
    session.info.pop(_INFO_KEY, None)


@event.listens_for(Session, "after_flush")
def _station_flushed(session, flush_context):
    if _INFO_KEY in session.info and any(
            isinstance(obj, Station) for obj in (*session.new, *session.dirty, *session.deleted)):
        forget_station_names(session)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _transaction_ended(session):
    forget_station_names(session)


def match_past_events(session: Session, since, commit, chunk: int = 5000) -> int:
    """Match events applied before matching existed (station_id NULL, at or after `since`); return how many
    were matched. Walks events by id in chunks and calls `commit` after each (a one-off backfill)."""
    events = TrackingEvent.__table__
    matched, after = 0, 0
    while True:
        rows = session.execute(
            select(events.c.id, events.c.location, events.c.description, Shipment.destination_station_id,
                   Shipment.origin_station_id, Shipment.origin_division_code)
            .join(Shipment, Shipment.id == events.c.shipment_id)
            .where(events.c.id > after, events.c.station_id.is_(None), events.c.occurred_at >= since)
            .order_by(events.c.id).limit(chunk)).all()
        if not rows:
            return matched
        names = station_names(session)
        updates = []
        for row in rows:
            county = names.county_of_shipment(row.destination_station_id, row.origin_station_id,
                                               row.origin_division_code)
            station_id = names.match(county, row.location, row.description)
            if station_id is not None:
                updates.append({"event_id": row.id, "matched": station_id})
        if updates:
            session.execute(events.update().where(events.c.id == bindparam("event_id"))
                            .values(station_id=bindparam("matched")), updates)
        matched += len(updates)
        after = rows[-1].id
        commit()
