"""The one public-disclosure rule, used by the tracking page and the API alike.

- A parcel registered with the recipient phone's last 4 digits shows its
  (masked) timeline only to someone who gives the right digits, whatever the
  carrier.
- A parcel registered without digits shows only its status and the city of
  its last scan, never the timeline.
- An unknown number and wrong digits give the same answer (None), after the
  same work: every candidate is compared in constant time, and a number with
  no candidate is compared against a dummy.
"""
import hmac
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shipments.models import Shipment, TrackingEvent
from shipments.services import shipments as shipment_service

MAX_CANDIDATES = 5  # the same number under several carriers is rare
_DUMMY = b"\x00\x00\x00\x00"


@dataclass(frozen=True)
class PublicParcel:
    """What the public may see of one parcel."""

    shipment: Shipment
    timeline: bool  # False: status and last city only
    events: tuple = ()
    last_city: str | None = None


def _digits(value: str | None) -> bytes:
    text = (value or "").strip()
    return text.encode() if len(text) == 4 and text.isdigit() else b""


def find_public_parcel(session: Session, number: str, phone_last4: str | None) -> PublicParcel | None:
    """The parcel a member of the public may see for a number and (optional) phone digits, or None."""
    given = _digits(phone_last4)
    candidates = list(session.scalars(shipment_service.find_for_public(number).limit(MAX_CANDIDATES)))
    with_digits, without = None, None
    for shipment in candidates or [None]:
        stored = (shipment.phone_last4 or "").encode() if shipment is not None else _DUMMY
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
        events = tuple(session.scalars(shipment_service.shipment_events(with_digits.id)))
        return PublicParcel(with_digits, True, events, _last_city(events))
    if without is not None:
        return PublicParcel(without, False, (), _last_city_of(session, without))
    return None


def _last_city(events) -> str | None:
    return next((e.location for e in reversed(events) if e.location), None)


def _last_city_of(session: Session, shipment: Shipment) -> str | None:
    return session.scalar(
        select(TrackingEvent.location)
        .where(TrackingEvent.shipment_id == shipment.id, TrackingEvent.location.is_not(None))
        .order_by(TrackingEvent.occurred_at.desc(), TrackingEvent.id.desc()).limit(1))
