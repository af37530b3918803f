"""Outbound webhooks: subscriptions (who wants what, where), the outbox
(one delivery row per change and subscriber, written in the change's
transaction) and delivery (the worker that signs, sends and retries)."""
from shipments.services.webhooks.outbox import (
    EVENTS, LATE_PERISHABLE, PICKUP_OVERDUE, STATUS_CHANGED, record_flagged, record_registered,
    record_registered_numbers, record_shipment_change, subscribers_preloaded,
)

__all__ = ["EVENTS", "LATE_PERISHABLE", "PICKUP_OVERDUE", "STATUS_CHANGED", "record_flagged", "record_registered",
           "record_registered_numbers", "record_shipment_change", "subscribers_preloaded"]
