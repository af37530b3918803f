"""The buyer's lookup on the public tracking page."""
import hmac

from sqlalchemy.orm import Session

from integrations.carriers import CARRIERS
from shipments.models import Shipment
from shipments.services import shipments as shipment_service

MAX_CANDIDATES = 5  # the same number under several carriers is rare


def carrier_needs_phone(carrier_code: str) -> bool:
    """Whether this carrier asks for the phone's last 4 digits (SF, ZTO)."""
    carrier = CARRIERS.get(carrier_code)
    return bool(carrier and carrier.needs_phone)


def number_may_need_phone(number: str) -> bool:
    """Whether any carrier the number's shape fits asks for the phone digits (known from the number alone)."""
    return any(carrier_needs_phone(c["carrier"]) for c in shipment_service.detection_candidates(number))


def find_public_parcel(session: Session, number: str, phone_last4: str | None) -> Shipment | None:
    """The parcel a buyer may see: by number, plus matching phone digits when its carrier asks for them.

    Unknown numbers and wrong digits give the same None, so the page cannot
    be used to find out which numbers exist.
    """
    given = (phone_last4 or "").strip().encode()
    found = None
    for shipment in session.scalars(shipment_service.find_for_public(number).limit(MAX_CANDIDATES)):
        if not carrier_needs_phone(shipment.carrier):
            found = found or shipment
            continue
        stored = (shipment.phone_last4 or "").encode()
        # Constant time: the answer must not tell how many digits matched.
        if hmac.compare_digest(stored, given) and stored and found is None:
            found = shipment
    return found
