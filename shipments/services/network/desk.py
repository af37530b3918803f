"""The village station desk: today's inbound parcels, arrival, hand-over with the phone's last
4 digits, and outbound (出村) registration.

Every action carries an idempotency key made by the phone (it may be queued
offline and sent more than once): a key already recorded at the station
returns the first result and records nothing. A recorded action becomes a
tracking event with source `station`, applied through services/tracking.py
exactly like a carrier's event, so status, derived times and the report
rollups (shipments triggers) move the same way.
"""
from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, or_, select, union
from sqlalchemy.orm import Session, joinedload

from integrations.models import COLLECTED, Status, TrackEvent, build_result
from integrations.carriers import CARRIERS
from integrations.numbers import normalise_number
from shipments import labels
from shipments.models import Shipment, Station, StationAction, TrackingEvent
from shipments.models.enums import (
    TERMINAL_STATUSES, Direction, EventSource, RegistrationSource, ShipmentStatus, StationActionKind,
)
from shipments.models.network import station_attendants
from shipments.services import shipments as shipment_rules, tracking
from shipments.services.schedule import PollPolicy

BEIJING = timezone(timedelta(hours=8))
CARRIER_CODES = sorted(set(CARRIERS) | {"sandbox"})
_KEY = re.compile(r"^[A-Za-z0-9_\-]{8,64}$")
MAX_INBOUND = 200
# How far back a carrier's scan at the station puts a parcel on its inbound list.
INBOUND_SCAN_DAYS = timedelta(days=14)
# How far an offline phone's clock may put an action in the past (or ahead of us).
MAX_BACKDATE = timedelta(days=7)
MAX_AHEAD = timedelta(minutes=10)


class DeskError(ValueError):
    """An action the desk refuses (field, code); nothing was recorded."""

    MESSAGES = {  # Flask-Babel messages (English msgid, Chinese in messages.po)
        "key": _l("invalid idempotency key"),
        "number": _l("no such parcel"),
        "ambiguous": _l("several carriers have this number: choose one"),
        "other_station": _l("this parcel is addressed to another station"),
        "phone_last4": _l("the phone's last 4 digits do not match: not handed over"),
        "no_phone": _l("no phone digits on record for this parcel"),
        "done": _l("this parcel was already delivered"),
        "time": _l("implausible action time (the phone's clock?)"),
        "invalid": _l("invalid input"),
    }

    def __init__(self, field_name: str, code: str, detail: str | shipment_rules.Problem = ""):
        super().__init__(code)
        self.field = field_name
        self.code = code
        self.detail = detail  # the number, or the registration rule that refused it

    def text(self, lang: str | None = "zh") -> str:
        """What was refused, in a language (zh or en; None: the page's)."""
        base = labels.text(self.MESSAGES[self.code], lang)
        detail = self.detail.text(lang) if isinstance(self.detail, shipment_rules.Problem) else self.detail
        return f"{base}: {detail}" if detail else base


@dataclass
class DeskResult:
    action: StationAction
    shipment: Shipment
    replayed: bool  # the key was already recorded: nothing new was written


def attended_station(session: Session, user_id: int, station_id: int | None = None) -> Station | None:
    """The station a user attends (the given one, or their first), or None."""
    query = (select(Station).join(station_attendants, station_attendants.c.station_id == Station.id)
             .where(station_attendants.c.user_id == user_id).order_by(Station.id))
    if station_id is not None:
        query = query.where(Station.id == station_id)
    return session.scalars(query.limit(1)).first()


def inbound_parcels(station: Station, now: datetime) -> Select:
    """Select parcels not yet handed over that are addressed to the station or that a carrier scanned
    there in the last INBOUND_SCAN_DAYS days, newest first (at most 200).

    Both sides are index reads: shipments by destination station, events by the station matched
    when they were applied (tracking_events.station_id); no event text is searched. A villager's
    outbound parcel registered here is not inbound.
    """
    live = [s for s in ShipmentStatus if s not in TERMINAL_STATUSES]
    addressed = select(Shipment.id).where(Shipment.destination_station_id == station.id)
    scanned = select(TrackingEvent.shipment_id).where(TrackingEvent.station_id == station.id,
                                                      TrackingEvent.occurred_at >= now - INBOUND_SCAN_DAYS)
    return (select(Shipment).where(Shipment.id.in_(union(addressed, scanned)), Shipment.status.in_(live),
                                   or_(Shipment.origin_station_id.is_(None), Shipment.origin_station_id != station.id))
            .order_by(Shipment.registered_at.desc(), Shipment.id.desc()).limit(MAX_INBOUND))


def recent_actions(station: Station, since: datetime) -> Select:
    """Select the station's actions recorded since a moment, newest first."""
    return (select(StationAction).options(joinedload(StationAction.shipment))
            .where(StationAction.station_id == station.id, StationAction.recorded_at >= since)
            .order_by(StationAction.recorded_at.desc(), StationAction.id.desc()).limit(MAX_INBOUND))


def _find(session: Session, number: str, carrier: str | None) -> Shipment:
    normal = normalise_number(number or "")
    if not normal:
        raise DeskError("number", "number")
    # carrier IN (every code) lets the (carrier, tracking_number) unique index answer.
    query = select(Shipment).where(Shipment.carrier.in_(carrier and [carrier] or CARRIER_CODES),
                                   Shipment.tracking_number == normal)
    found = session.scalars(query.limit(3)).all()
    if not found:
        raise DeskError("number", "number", normal)
    if len(found) > 1:
        raise DeskError("carrier", "ambiguous")
    return found[0]


def _event(session: Session, shipment: Shipment, status: Status, substatus: str | None, text: str, station: Station,
           code: str, at: datetime, now: datetime) -> None:
    event = TrackEvent(occurred_at=at, status=status, description=text, location=station.name, raw_code=code,
                       substatus=substatus)
    result = build_result(number=shipment.tracking_number, carrier=shipment.carrier, status=status,
                          substatus=substatus, raw_state=code, events=[event])
    tracking.apply_track_outcome(session, shipment, result, source=EventSource.STATION, now=now,
                                 policy=PollPolicy())


def record_action(session: Session, *, station: Station, user, kind: StationActionKind | str, key: str,
                  number: str, occurred_at: datetime, now: datetime, carrier: str | None = None,
                  phone_last4: str | None = None, providers: dict | None = None, caller=None) -> DeskResult:
    """Record one attendant action under its idempotency key (replays return the first result)."""
    kind = StationActionKind(kind)
    if not isinstance(key, str) or not _KEY.match(key):
        raise DeskError("key", "key")
    earlier = session.scalar(select(StationAction).where(StationAction.station_id == station.id,
                                                         StationAction.idempotency_key == key))
    if earlier is not None:
        return DeskResult(earlier, session.get(Shipment, earlier.shipment_id), True)
    if occurred_at.tzinfo is None or not now - MAX_BACKDATE <= occurred_at <= now + MAX_AHEAD:
        raise DeskError("occurred_at", "time")
    occurred_at = min(occurred_at, now)
    if kind == StationActionKind.OUTBOUND:
        shipment = _register_outbound(session, station, caller, number, carrier, phone_last4, providers or {}, now)
        _event(session, shipment, Status.INFO_RECEIVED, None, f"【{station.name}】村民寄件已登记，待快递员揽收",
               station, "STATION_OUTBOUND", occurred_at, now)
    else:
        shipment = _find(session, number, carrier)
        if shipment.destination_station_id not in (None, station.id):
            raise DeskError("number", "other_station")
        if shipment.status in TERMINAL_STATUSES:
            raise DeskError("number", "done")
        if kind == StationActionKind.ARRIVAL:
            if shipment.destination_station_id is None:
                shipment.destination_station_id = station.id
            _event(session, shipment, Status.AVAILABLE_FOR_PICKUP, None, f"【{station.name}】快件已到站，待村民取件",
                   station, "STATION_ARRIVAL", occurred_at, now)
        else:
            expected = shipment.phone_last4
            if not expected:
                raise DeskError("phone_last4", "no_phone")
            given = (phone_last4 or "").strip()
            if not hmac.compare_digest(given.encode(), expected.encode()):
                raise DeskError("phone_last4", "phone_last4")
            _event(session, shipment, Status.DELIVERED, COLLECTED, f"【{station.name}】村民已取件（手机尾号核验）",
                   station, "STATION_HANDOVER", occurred_at, now)
    action = StationAction(station_id=station.id, user_id=user.id, idempotency_key=key, kind=kind,
                           shipment_id=shipment.id, occurred_at=occurred_at, recorded_at=now)
    session.add(action)
    # The same key arriving twice at once fails here on the unique key: the caller
    # rolls back and asks again, which then returns the first request's result.
    session.flush()
    return DeskResult(action, shipment, False)


def _register_outbound(session, station, caller, number, carrier, phone_last4, providers, now) -> Shipment:
    raw = {"number": number, "carrier": carrier or None, "phone_last4": phone_last4 or None,
           "direction": "outbound", "origin_division_code": station.division_code}
    try:
        shipment, _ = shipment_rules.register_shipment(
            session, caller, raw, providers, now=now, source=RegistrationSource.STATION,
            extra={"origin_station_id": station.id, "direction": Direction.OUTBOUND})
    except shipment_rules.RowInvalid as exc:
        problem = exc.problems[0]
        raise DeskError(problem.field, "invalid", problem) from None
    except shipment_rules.CarrierUndecided:
        raise DeskError("carrier", "ambiguous") from None
    except shipment_rules.NumberTaken:
        raise DeskError("number", "invalid", shipment_rules.Problem("number", "registered_by_other_org")) from None
    return shipment
