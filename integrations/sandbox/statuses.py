"""Sandbox raw event codes -> our Status (the sandbox's own status table)."""

from __future__ import annotations

from ..models import Status

S = Status
STATUS_TABLE: dict[str, tuple[Status, str | None]] = {
    "ORDER": (S.INFO_RECEIVED, None),
    "PICKUP": (S.IN_TRANSIT, "PICKED_UP"),
    "DEPART": (S.IN_TRANSIT, None),
    "ARRIVE": (S.IN_TRANSIT, None),
    "ARRIVE_CITY": (S.IN_TRANSIT, "ARRIVED_DESTINATION_CITY"),
    "TRANSFER": (S.IN_TRANSIT, "TRANSFERRED"),
    "EXCEPTION": (S.EXCEPTION, "DELAYED"),
    "RESOLVED": (S.IN_TRANSIT, None),
    "OUT": (S.OUT_FOR_DELIVERY, None),
    "ATTEMPT_FAIL": (S.ATTEMPT_FAIL, "RECIPIENT_UNREACHABLE"),
    "STATION": (S.AVAILABLE_FOR_PICKUP, None),
    "SIGNED": (S.DELIVERED, "SIGNED"),
    "COLLECTED": (S.DELIVERED, "COLLECTED_FROM_LOCKER_OR_STATION"),
    "REFUSED": (S.RETURNING, "REFUSED"),
    "RETURNING": (S.RETURNING, None),
    "RETURNED": (S.RETURNED, None),
}


def map_state(code: str) -> tuple[Status, str | None]:
    """Map a sandbox code; unknown codes fall back to IN_TRANSIT (explicit fallback)."""
    return STATUS_TABLE.get(code, (S.IN_TRANSIT, None))
