"""17TRACK v2.2 `latest_status` -> our Status (STATUS_MODEL.md §2.3)."""

from __future__ import annotations

from ..models import Status

S = Status
# sub_status -> (Status, substatus)
SUB_STATUS_TABLE: dict[str, tuple[Status, str | None]] = {
    "NotFound_Other": (S.PENDING, None),
    "NotFound_InvalidCode": (S.EXCEPTION, "INVALID_NUMBER"),
    "InfoReceived": (S.INFO_RECEIVED, None),
    "InTransit_PickedUp": (S.IN_TRANSIT, "PICKED_UP"),
    "InTransit_Other": (S.IN_TRANSIT, None),
    "InTransit_Departure": (S.IN_TRANSIT, "DEPARTED_ORIGIN"),
    "InTransit_Arrival": (S.IN_TRANSIT, "ARRIVED_DESTINATION_COUNTRY"),
    "InTransit_CustomsProcessing": (S.IN_TRANSIT, "CUSTOMS"),
    "InTransit_CustomsReleased": (S.IN_TRANSIT, "CUSTOMS"),
    "InTransit_CustomsRequiringInformation": (S.EXCEPTION, "CUSTOMS"),
    "Expired_Other": (S.EXPIRED, None),
    "AvailableForPickup_Other": (S.AVAILABLE_FOR_PICKUP, None),
    "OutForDelivery_Other": (S.OUT_FOR_DELIVERY, None),
    "DeliveryFailure_Other": (S.ATTEMPT_FAIL, None),
    "DeliveryFailure_NoBody": (S.ATTEMPT_FAIL, "RECIPIENT_UNREACHABLE"),
    "DeliveryFailure_Security": (S.ATTEMPT_FAIL, None),
    "DeliveryFailure_InvalidAddress": (S.ATTEMPT_FAIL, None),
    "DeliveryFailure_Rejected": (S.EXCEPTION, "REFUSED"),
    "Delivered_Other": (S.DELIVERED, None),
    "Exception_Other": (S.EXCEPTION, None),
    "Exception_Returning": (S.RETURNING, None),
    "Exception_Returned": (S.RETURNED, None),
    "Exception_NoBody": (S.EXCEPTION, None),
    "Exception_Security": (S.EXCEPTION, None),
    "Exception_Damage": (S.EXCEPTION, "DAMAGED"),
    "Exception_Rejected": (S.EXCEPTION, "REFUSED"),
    "Exception_Delayed": (S.EXCEPTION, "DELAYED"),
    "Exception_Lost": (S.EXCEPTION, "LOST"),
    "Exception_Destroyed": (S.EXCEPTION, "LOST"),
    "Exception_Cancel": (S.EXCEPTION, "CANCELLED"),
}

# Main status -> fallback for unknown `Status_*` sub-statuses (prefix rule).
MAIN_STATUS_TABLE: dict[str, tuple[Status, str | None]] = {
    "NotFound": (S.PENDING, None),
    "InfoReceived": (S.INFO_RECEIVED, None),
    "InTransit": (S.IN_TRANSIT, None),
    "Expired": (S.EXPIRED, None),
    "AvailableForPickup": (S.AVAILABLE_FOR_PICKUP, None),
    "OutForDelivery": (S.OUT_FOR_DELIVERY, None),
    "DeliveryFailure": (S.ATTEMPT_FAIL, None),
    "Delivered": (S.DELIVERED, None),
    "Exception": (S.EXCEPTION, None),
}

# Event `stage` / milestone key_stage -> status (used for per-event status).
STAGE_TABLE: dict[str, tuple[Status, str | None]] = {
    "InfoReceived": (S.INFO_RECEIVED, None),
    "PickedUp": (S.IN_TRANSIT, "PICKED_UP"),
    "Departure": (S.IN_TRANSIT, "DEPARTED_ORIGIN"),
    "Arrival": (S.IN_TRANSIT, "ARRIVED_DESTINATION_COUNTRY"),
    "AvailableForPickup": (S.AVAILABLE_FOR_PICKUP, None),
    "OutForDelivery": (S.OUT_FOR_DELIVERY, None),
    "Delivered": (S.DELIVERED, None),
    "Returning": (S.RETURNING, None),
    "Returned": (S.RETURNED, None),
}


def map_status(status: str | None, sub_status: str | None) -> tuple[Status, str | None] | None:
    """Map (status, sub_status) to ours: exact sub_status, else its `Status_` prefix, else status."""
    if sub_status and sub_status in SUB_STATUS_TABLE:
        return SUB_STATUS_TABLE[sub_status]
    if sub_status:
        prefix = sub_status.split("_", 1)[0]
        if prefix in MAIN_STATUS_TABLE:
            return MAIN_STATUS_TABLE[prefix]
    if status and status in MAIN_STATUS_TABLE:
        return MAIN_STATUS_TABLE[status]
    return None
