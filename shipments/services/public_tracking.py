"""The one public-disclosure rule, used by the tracking page and the API alike.

- A parcel registered with the recipient phone's last 4 digits shows its
  (masked) timeline only to someone who gives the right digits, whatever the
  carrier.
- A parcel registered without digits shows only its status and the city of
  its last scan, never the timeline.
- An unknown number and wrong digits give the same answer (None), after the
  same work: one statement (the candidates by number), then every candidate
  is compared in constant time, and a number with no candidate is compared
  against a dummy. The same statement brings the timeline of a candidate
  whose digits match, and only of such a candidate.

This is the buyers' hottest read (right after a livestream): one Core
statement built once per dialect, only the columns the answer shows, no ORM
objects.
"""
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from sqlalchemy import String, bindparam, case, select
from sqlalchemy.orm import Session

from shipments.models import Shipment, TrackingEvent
from shipments.services import timelines
from shipments.services.shipments import normalise_number

MAX_CANDIDATES = 5  # the same number under several carriers is rare
_DUMMY = b"\x00\x00\x00\x00"

# What the public answer may show of a shipment (schemas/shipments.py PublicShipmentSchema).
PUBLIC_COLUMNS = ("id", "carrier", "tracking_number", "status", "substatus", "destination_province_code",
                  "destination_city", "picked_up_at", "delivered_at", "phone_last4")
EVENT_COLUMNS = ("status", "location", "description")  # and occurred_at (services/timelines.py)


@dataclass(frozen=True)
class PublicParcel:
    """What the public may see of one parcel: the shipment's public columns (a mapping)."""

    shipment: Mapping
    timeline: bool  # False: status and last city only
    events: tuple = ()  # mappings of occurred_at and EVENT_COLUMNS, oldest first
    last_city: str | None = None


@cache
def _lookup_query(dialect: str):
    shipments, events = Shipment.__table__.c, TrackingEvent.__table__.c
    # The last city is only ever shown for a parcel registered without digits; the
    # CASE keeps its subquery from running for any other candidate, so wrong digits
    # cost exactly what an unknown number costs plus the index hit.
    last_city = (select(events.location)
                 .where(events.shipment_id == shipments.id, events.location.is_not(None))
                 .order_by(events.occurred_at.desc(), events.id.desc()).limit(1).scalar_subquery())
    # Likewise the timeline (one JSON array, services/timelines.py) is read only for a candidate
    # whose stored digits equal the given ones (none given: NULL, never equal). The answer is
    # still decided by the constant-time comparison below; this only saves a second statement.
    timeline = timelines.events_column(EVENT_COLUMNS, dialect)
    return (select(*(shipments[name] for name in PUBLIC_COLUMNS),
                   case((shipments.phone_last4.is_(None), last_city)).label("plain_last_city"),
                   case((shipments.phone_last4 == bindparam("digits", type_=String), timeline))
                   .label("timeline_events"))
            .where(shipments.tracking_number == bindparam("number"))
            .order_by(shipments.id).limit(MAX_CANDIDATES))


def _digits(value: str | None) -> bytes:
    text = (value or "").strip()
    return text.encode() if len(text) == 4 and text.isdigit() else b""


def find_public_parcel(session: Session, number: str, phone_last4: str | None) -> PublicParcel | None:
    """The parcel a member of the public may see for a number and (optional) phone digits, or None."""
    given = _digits(phone_last4)
    query = _lookup_query(session.get_bind().dialect.name)
    candidates = session.execute(query, {"number": normalise_number(number),
                                         "digits": given.decode() or None}).mappings().all()
    with_digits, without = None, None
    for shipment in candidates or [None]:
        stored = (shipment["phone_last4"] or "").encode() if shipment is not None else _DUMMY
        # Constant time, and every candidate compared: the answer's timing must
        # not tell which numbers exist or how many digits matched.
        matched = hmac.compare_digest(stored or _DUMMY, given or b"-")
        if shipment is None:
            continue
        if stored:
            if matched and with_digits is None:
                with_digits = shipment
        elif without is None:
            without = shipment
    if with_digits is not None:
        events = tuple(timelines.events_from_json(with_digits["timeline_events"], EVENT_COLUMNS))
        return PublicParcel(with_digits, True, events, _last_city(events))
    if without is not None:
        return PublicParcel(without, False, (), without["plain_last_city"])
    return None


def _last_city(events) -> str | None:
    return next((e["location"] for e in reversed(events) if e["location"]), None)
