"""Kuaidi100 `state` / `statusCode` -> our Status (STATUS_MODEL.md §2.1)."""

from __future__ import annotations

from ..models import Status

S = Status
STATUS_TABLE: dict[str, tuple[Status, str | None]] = {
    "101": (S.INFO_RECEIVED, None),            # 已下单
    "102": (S.INFO_RECEIVED, None),            # 待揽收
    "1": (S.IN_TRANSIT, "PICKED_UP"),          # 揽收
    "103": (S.IN_TRANSIT, "PICKED_UP"),        # 已揽收
    "0": (S.IN_TRANSIT, None),                 # 在途
    "1001": (S.IN_TRANSIT, "ARRIVED_DESTINATION_CITY"),
    "1002": (S.IN_TRANSIT, None),              # 干线
    "1003": (S.IN_TRANSIT, "REDIRECTED"),      # 转递
    "7": (S.IN_TRANSIT, "TRANSFERRED"),        # 转投
    "8": (S.IN_TRANSIT, "CUSTOMS"),
    "10": (S.IN_TRANSIT, "CUSTOMS"),
    "11": (S.IN_TRANSIT, "CUSTOMS"),
    "12": (S.IN_TRANSIT, "CUSTOMS"),
    "13": (S.EXCEPTION, "CUSTOMS"),            # 清关异常
    "5": (S.OUT_FOR_DELIVERY, None),           # 派件
    "501": (S.AVAILABLE_FOR_PICKUP, None),     # 投柜或驿站
    "3": (S.DELIVERED, "SIGNED"),
    "301": (S.DELIVERED, "SIGNED"),
    "302": (S.DELIVERED, "SIGNED_AFTER_EXCEPTION"),
    "303": (S.DELIVERED, "SIGNED_BY_PROXY"),
    "304": (S.DELIVERED, "COLLECTED_FROM_LOCKER_OR_STATION"),
    "2": (S.EXCEPTION, None),                  # 疑难
    "201": (S.EXCEPTION, "NOT_SIGNED_TIMEOUT"),
    "202": (S.EXCEPTION, "NO_UPDATE_TIMEOUT"),
    "203": (S.EXCEPTION, "REFUSED"),
    "204": (S.ATTEMPT_FAIL, None),
    "205": (S.EXCEPTION, "PICKUP_MISSED"),
    "206": (S.ATTEMPT_FAIL, "RECIPIENT_UNREACHABLE"),
    "207": (S.EXCEPTION, "OUT_OF_AREA"),
    "208": (S.EXCEPTION, "DELAYED"),
    "209": (S.EXCEPTION, "DAMAGED"),
    "210": (S.EXCEPTION, "CANCELLED"),
    "6": (S.RETURNING, None),                  # 退回
    "4": (S.RETURNED, None),                   # 退签
    "401": (S.EXCEPTION, "CANCELLED"),         # 已销单
    "14": (S.RETURNED, "REFUSED"),             # 拒签
}

# Per-event status *names* (resultv2=1) when no statusCode is given.
NAME_TABLE: dict[str, str] = {
    "已下单": "101", "待揽收": "102", "揽收": "1", "已揽收": "103", "在途": "0",
    "到达派件城市": "1001", "干线": "1002", "转递": "1003", "转投": "7", "清关": "8",
    "待清关": "10", "清关中": "11", "已清关": "12", "清关异常": "13", "派件": "5",
    "投柜或驿站": "501", "签收": "3", "本人签收": "301", "派件异常后签收": "302",
    "代签": "303", "投柜或站签收": "304", "疑难": "2", "超时未签收": "201",
    "超时未更新": "202", "拒收": "203", "派件异常": "204", "柜或驿站超时未取": "205",
    "无法联系": "206", "超区": "207", "滞留": "208", "破损": "209", "销单": "210",
    "退回": "6", "退签": "4", "已销单": "401", "拒签": "14",
}


def fallback_code(code: str) -> str | None:
    """Return the base code an unknown advanced code falls back to (by prefix)."""
    if not code.isdigit():
        return None
    if len(code) == 4 and code.startswith("10"):
        return "0"
    if len(code) == 3 and code[0] in "12345":
        return code[0]
    return None


def map_state(code: str | int | None) -> tuple[Status, str | None] | None:
    """Map a Kuaidi100 code to (Status, substatus); None if unknown even by prefix."""
    if code is None or str(code).strip() == "":
        return None
    key = str(code).strip()
    if key in STATUS_TABLE:
        return STATUS_TABLE[key]
    base = fallback_code(key)
    return STATUS_TABLE.get(base) if base is not None else None
