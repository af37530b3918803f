"""The transactional outbox: a delivery row per change and subscriber, in the change's transaction.

The change points (registration, applying a carrier's answer, the sweeps)
each make one call here with the session that is about to commit the
change; if the change rolls back, so do its deliveries. A delivery is
unique on (subscription, event id), and the event id is derived from the
change itself (shipment, event, previous and new status, event time), so
the same change can only be queued once per subscriber, whatever replays
it: a re-poll, a repeated push, a restarted worker.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import datetime
from enum import Enum

from sqlalchemy import select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from shipments.models import Shipment, WebhookDelivery, WebhookSubscription
from shipments.models.enums import DeliveryState, ShipmentStatus, StopReason
from shipments.services.masking import mask_phone_last4

REGISTERED = "shipment.registered"
STATUS_CHANGED = "shipment.status_changed"
PICKUP_OVERDUE = "shipment.pickup_overdue"
LATE_PERISHABLE = "shipment.late_perishable"
NEEDS_PHONE = "shipment.needs_phone"
EXCEPTION = "shipment.exception"
TEST = "webhook.test"
EVENTS = (REGISTERED, STATUS_CHANGED, PICKUP_OVERDUE, LATE_PERISHABLE, NEEDS_PHONE, EXCEPTION)

CHUNK = 500
_schema = None


def _plain(value):
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def shipment_document(shipment: Shipment) -> dict:
    """The shipment part of a payload: the API's ShipmentSchema dump, phone digits masked."""
    global _schema
    if _schema is None:
        # Imported here: the schemas import services.shipments, which imports this module.
        from shipments.schemas.shipments import ShipmentSchema
        _schema = ShipmentSchema()
    document = _schema.dump(shipment)
    document["phone_last4"] = mask_phone_last4(shipment.phone_last4)
    return document


def make_event_id(*parts) -> str:
    """A stable event id from what identifies the change (the same change, the same id)."""
    text = "|".join("" if p is None else str(_plain(p)) for p in parts)
    return "evt_" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def body(event_id: str, event: str, occurred_at: datetime, shipment_doc: dict | None, *,
         previous_status=None, status=None, extra: dict | None = None) -> str:
    """The JSON body sent for one event (fixed when the change is written)."""
    document = {"id": event_id, "event": event, "occurred_at": occurred_at.isoformat(),
                "previous_status": _plain(previous_status), "status": _plain(status), "shipment": shipment_doc}
    if extra:
        document.update(extra)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class _Subscribers:
    """Active subscriptions per organisation, each organisation looked up once."""

    def __init__(self, session):
        self.session, self.rows = session, {}

    def load(self, organisation_ids) -> None:
        """Look up the organisations not loaded yet, with one query per CHUNK of them."""
        missing = sorted({i for i in organisation_ids if i is not None} - self.rows.keys())
        for start in range(0, len(missing), CHUNK):
            chunk = missing[start:start + CHUNK]
            for organisation_id in chunk:
                self.rows[organisation_id] = []
            for row in self.session.execute(
                    select(WebhookSubscription.organisation_id, WebhookSubscription.id, WebhookSubscription.events,
                           WebhookSubscription.statuses)
                    .where(WebhookSubscription.organisation_id.in_(chunk), WebhookSubscription.active.is_(True))
                    .order_by(WebhookSubscription.id)):
                self.rows[row.organisation_id].append(row)

    def wanting(self, organisation_id: int, event: str, status=None) -> list[int]:
        if organisation_id not in self.rows:
            self.load([organisation_id])
        status = _plain(status)
        return [r.id for r in self.rows.get(organisation_id, ()) if event in (r.events or [])
                and (event != STATUS_CHANGED or not r.statuses or status in r.statuses)]


_PRELOADED = "webhooks.preloaded_subscribers"


def _subscribers(session) -> _Subscribers:
    return session.info.get(_PRELOADED) or _Subscribers(session)


@contextlib.contextmanager
def subscribers_preloaded(session, organisation_ids):
    """Inside the block, changes are recorded against these organisations' subscribers as looked up
    now, with one query: for a batch of changes in which no subscription changes (the poller's).

    A look-up per change would also autoflush the session each time: one UPDATE per parcel.
    """
    subscribers = _Subscribers(session)
    subscribers.load(organisation_ids)
    session.info[_PRELOADED] = subscribers
    try:
        yield subscribers
    finally:
        session.info.pop(_PRELOADED, None)


_INSERT = {
    name: dialect_insert(WebhookDelivery.__table__).on_conflict_do_nothing(
        index_elements=["subscription_id", "event_id"]).returning(WebhookDelivery.__table__.c.id)
    for name, dialect_insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}


def _write(session, subscription_ids, *, event, event_id, shipment_id, payload, occurred_at, now) -> int:
    if not subscription_ids:
        return 0
    rows = [{"subscription_id": sid, "event_id": event_id, "event": event, "shipment_id": shipment_id,
             "payload": payload, "occurred_at": occurred_at, "created_at": now, "state": DeliveryState.PENDING.value,
             "attempts": 0, "next_attempt_at": now} for sid in subscription_ids]
    connection = session.connection()
    return len(connection.execute(_INSERT[connection.dialect.name], rows).all())


def _record(session, subscribers: _Subscribers, shipment: Shipment, event: str, *, occurred_at: datetime,
            now: datetime, previous_status=None, key=()) -> int:
    status = ShipmentStatus(shipment.status)
    wanting = subscribers.wanting(shipment.organisation_id, event, status)
    if not wanting:
        return 0
    event_id = make_event_id(event, shipment.id, *key)
    payload = body(event_id, event, occurred_at, shipment_document(shipment),
                   previous_status=previous_status, status=status)
    return _write(session, wanting, event=event, event_id=event_id, shipment_id=shipment.id, payload=payload,
                  occurred_at=occurred_at, now=now)


def record_shipment_change(session, shipment: Shipment, *, previous_status, previous_stop, now: datetime) -> int:
    """Queue what changed when a carrier's answer was applied: status (and exception), needs-phone stop."""
    subscribers = _subscribers(session)
    written = 0
    status = ShipmentStatus(shipment.status)
    if previous_status is not None and ShipmentStatus(previous_status) != status:
        # The carrier's event time identifies the change; an expiry or a cancellation has none of its own.
        occurred = now if status in (ShipmentStatus.EXPIRED, ShipmentStatus.CANCELLED) \
            or shipment.last_event_at is None else shipment.last_event_at
        key = (_plain(previous_status), status.value, occurred.isoformat())
        written += _record(session, subscribers, shipment, STATUS_CHANGED, occurred_at=occurred, now=now,
                           previous_status=previous_status, key=key)
        if status == ShipmentStatus.EXCEPTION:
            written += _record(session, subscribers, shipment, EXCEPTION, occurred_at=occurred, now=now,
                               previous_status=previous_status, key=key)
    if shipment.stop_reason == StopReason.NEEDS_PHONE and previous_stop != StopReason.NEEDS_PHONE:
        written += _record(session, subscribers, shipment, NEEDS_PHONE, occurred_at=now, now=now,
                           previous_status=previous_status, key=(now.isoformat(),))
    return written


def record_registered(session, shipments, *, now: datetime) -> int:
    """Queue shipment.registered (and needs_phone when it already waits for digits) for new shipments."""
    subscribers = _subscribers(session)
    written = 0
    for shipment in shipments:
        written += _record(session, subscribers, shipment, REGISTERED, occurred_at=shipment.registered_at or now,
                           now=now)
        if shipment.stop_reason == StopReason.NEEDS_PHONE:
            written += _record(session, subscribers, shipment, NEEDS_PHONE, occurred_at=now, now=now,
                               key=("registered",))
    return written


def record_registered_numbers(session, organisation_id: int, keys, *, now: datetime) -> int:
    """Queue shipment.registered for shipments a bulk import inserted, given as (carrier, number) pairs."""
    keys = list(keys)
    if not keys or not _subscribers(session).wanting(organisation_id, REGISTERED):
        return 0  # nobody listens: no look-up of the new rows
    written = 0
    for start in range(0, len(keys), CHUNK):
        rows = session.scalars(select(Shipment).where(
            tuple_(Shipment.carrier, Shipment.tracking_number).in_(keys[start:start + CHUNK]))).all()
        written += record_registered(session, rows, now=now)
    return written


def record_flagged(session, event: str, shipment_ids, *, now: datetime) -> int:
    """Queue a sweep's flag (pickup_overdue, late_perishable, or an expiry's status change) for shipments."""
    ids = list(shipment_ids)
    subscribers = _subscribers(session)
    written = 0
    for start in range(0, len(ids), CHUNK):
        rows = session.scalars(select(Shipment).where(Shipment.id.in_(ids[start:start + CHUNK]))).all()
        for shipment in rows:
            if event == STATUS_CHANGED:
                key = (None, ShipmentStatus(shipment.status).value, now.isoformat())
            else:
                key = ()  # flagged once per shipment
            written += _record(session, subscribers, shipment, event, occurred_at=now, now=now, key=key)
    return written


def record_test(session, subscription: WebhookSubscription, *, now: datetime) -> WebhookDelivery:
    """Queue a webhook.test delivery for one subscription."""
    event_id = make_event_id(TEST, subscription.id, now.isoformat())
    delivery = WebhookDelivery(
        subscription_id=subscription.id, event_id=event_id, event=TEST, shipment_id=None,
        payload=body(event_id, TEST, now, None, extra={"subscription_id": subscription.id}),
        occurred_at=now, created_at=now, state=DeliveryState.PENDING, attempts=0, next_attempt_at=now)
    session.add(delivery)
    session.flush()
    return delivery
