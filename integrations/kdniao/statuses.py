"""Kdniao `State` / `StateEx` / `Traces[].Action` -> our Status (STATUS_MODEL.md §2.2)."""

from __future__ import annotations

from ..models import Status

S = Status
STATUS_TABLE: dict[str, tuple[Status, str | None]] = {
    "0": (S.PENDING, None),                     # 暂无轨迹信息
    "10": (S.INFO_RECEIVED, None),              # 待揽件
    "1": (S.IN_TRANSIT, "PICKED_UP"),           # 已揽收
    "2": (S.IN_TRANSIT, None),                  # 在途中
    "201": (S.IN_TRANSIT, "ARRIVED_DESTINATION_CITY"),
    "202": (S.OUT_FOR_DELIVERY, None),          # 派件中
    "211": (S.AVAILABLE_FOR_PICKUP, None),      # 已放入快递柜或驿站
    "3": (S.DELIVERED, "SIGNED"),
    "301": (S.DELIVERED, "SIGNED"),
    "302": (S.DELIVERED, "SIGNED_AFTER_EXCEPTION"),
    "304": (S.DELIVERED, "SIGNED_BY_PROXY"),
    "311": (S.DELIVERED, "COLLECTED_FROM_LOCKER_OR_STATION"),
    "4": (S.EXCEPTION, None),                   # 问题件
    "401": (S.EXCEPTION, "NO_UPDATE_TIMEOUT"),  # 发货无信息
    "402": (S.EXCEPTION, "NOT_SIGNED_TIMEOUT"),
    "403": (S.EXCEPTION, "NO_UPDATE_TIMEOUT"),
    "404": (S.EXCEPTION, "REFUSED"),
    "405": (S.ATTEMPT_FAIL, None),
    "406": (S.RETURNED, None),                  # 退货签收
    "407": (S.RETURNING, None),                 # 退货未签收
    "412": (S.EXCEPTION, "PICKUP_MISSED"),
    "413": (S.EXCEPTION, "INTERCEPTED"),
    "5": (S.IN_TRANSIT, "REDIRECTED"),          # 转寄 (UNCONFIRMED)
    "6": (S.IN_TRANSIT, "CUSTOMS"),             # 清关 (UNCONFIRMED)
}


def fallback_code(code: str) -> str | None:
    """Return the base State an unknown StateEx falls back to (first digit of 3-digit codes)."""
    if code.isdigit() and len(code) == 3 and code[0] in "1234":
        return code[0]
    return None


def map_state(code: str | int | None) -> tuple[Status, str | None] | None:
    """Map a Kdniao code to (Status, substatus); None if unknown even by prefix."""
    if code is None or str(code).strip() == "":
        return None
    key = str(code).strip()
    if key in STATUS_TABLE:
        return STATUS_TABLE[key]
    base = fallback_code(key)
    return STATUS_TABLE.get(base) if base is not None else None
