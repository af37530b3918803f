"""Pure helpers reading Chinese scan texts when a provider gives no per-event code."""

from __future__ import annotations

import re

from .models import COLLECTED, PICKED_UP, TRANSFERRED, Status

# Carrier names as they appear in scan texts -> our carrier code.
CARRIER_WORDS = (
    ("中国邮政", "chinapost"),
    ("邮政", "chinapost"),
    ("EMS", "ems"),
    ("顺丰", "sf"),
    ("中通", "zto"),
    ("圆通", "yto"),
    ("申通", "sto"),
    ("韵达", "yunda"),
    ("极兔", "jtexpress"),
    ("京东", "jd"),
    ("德邦", "deppon"),
    ("百世", "best"),
)
_NEW_NUMBER = re.compile(r"(?:新单号|单号|运单号)\s*(?:为|是)?\s*[:：]?\s*([0-9A-Za-z]{8,32})")

_STATION = ("驿站", "快递柜", "丰巢", "代收点", "自提点", "智能柜", "快递超市")


def parse_transfer(description: str) -> tuple[str, str] | None:
    """Return (carrier, number) named in a 转投/转寄 handover text, else None."""
    if not any(w in description for w in ("转投", "转寄", "转交", "转单", "交由")):
        return None
    m = _NEW_NUMBER.search(description)
    if not m:
        return None
    head = description[: m.start()]
    for word, code in CARRIER_WORDS:
        if word in head:
            return code, m.group(1).upper()
    return None


def infer_status(description: str) -> tuple[Status, str | None]:
    """Guess (status, substatus) of one scan from its text (fallback only)."""
    d = description
    if "退回" in d or "退件" in d or "返回寄件" in d or "退货" in d:
        if "签收" in d:
            return Status.RETURNED, None
        return Status.RETURNING, None
    if parse_transfer(d) or "转投" in d:
        return Status.IN_TRANSIT, TRANSFERRED
    at_station = any(w in d for w in _STATION)
    if "签收" in d or "已取出" in d or "已取件" in d or "妥投" in d:
        return Status.DELIVERED, COLLECTED if at_station else "SIGNED"
    if at_station:
        return Status.AVAILABLE_FOR_PICKUP, None
    if "拒收" in d or "异常" in d or "滞留" in d or "破损" in d:
        return Status.EXCEPTION, None
    if "派件" in d or "派送" in d or "投递" in d:
        return Status.OUT_FOR_DELIVERY, None
    if "等待揽" in d or "已下单" in d or "待揽" in d:
        return Status.INFO_RECEIVED, None
    if "揽收" in d or "揽件" in d or "已收件" in d or "收寄" in d:
        return Status.IN_TRANSIT, PICKED_UP
    return Status.IN_TRANSIT, None
