"""Provider-neutral parcel stories the fakes render in each provider's format.

A story is a list of steps (hours after BASE_TIME in Beijing time, kind,
description, location). Each fake maps `kind` to its own status codes.
Times are fixed so tests can check the Beijing -> UTC conversion:
the first step is 2026-06-01 08:00:00 Beijing = 2026-06-01 00:00:00 UTC.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

BASE_TIME = datetime(2026, 6, 1, 8, 0, 0)  # naive Beijing time
TRANSFER_NUMBER = "9812345678901"

_START = [
    (0, "ORDER", "商家已下单，等待快递员揽收", "绍兴市"),
    (3, "PICKUP", "【绍兴市】诸暨山下湖镇网点 已揽收", "绍兴市"),
    (5, "TRANSIT", "快件已从【诸暨山下湖镇网点】发出，下一站【诸暨分拨中心】", "绍兴市"),
    (9, "TRANSIT", "快件已到达【杭州转运中心】", "杭州市"),
]
_CITY = [
    (20, "ARRIVE_CITY", "快件已到达【上海转运中心】", "上海市"),
    (26, "OUT", "【上海市】浦东新区张江营业部 派件员王师傅 正在派件", "上海市"),
]

STORIES: dict[str, list[tuple[float, str, str, str]]] = {
    "in_transit": _START,
    "delivered": _START + _CITY + [(28, "SIGNED", "快件已签收，签收人：本人，感谢使用", "上海市")],
    "station": _START + _CITY + [(28, "STATION", "快件已放入【菜鸟驿站·张江店】，请凭取件码取件", "上海市")],
    "collected": _START + _CITY + [
        (28, "STATION", "快件已放入【菜鸟驿站·张江店】，请凭取件码取件", "上海市"),
        (40, "COLLECTED", "您的快件已从【菜鸟驿站·张江店】取出，已签收", "上海市"),
    ],
    "transferred": _START + [
        (20, "TRANSFER", f"快件已转投中国邮政，新单号：{TRANSFER_NUMBER}，请以邮政信息为准", "上海市"),
        (30, "TRANSIT", "【上海市】邮政浦东揽投部 已收件", "上海市"),
    ],
    "exception": _START + [(20, "EXCEPTION", "快件异常：天气原因，快件滞留【杭州转运中心】", "杭州市")],
    "returned": _START + _CITY + [
        (28, "RETURNING", "收件人拒收，快件退回寄件人", "上海市"),
        (60, "RETURNED", "退回件已由寄件人签收", "绍兴市"),
    ],
}

# Names that are not stories but per-number behaviours every fake understands.
BEHAVIOURS = (
    "mixed",           # a story picked deterministically from the number (for benchmarks)
    "not_found",       # no record yet
    "bad_number",      # the provider says the number/carrier is invalid
    "phone_required",  # the provider demands the phone's last 4 digits (wrong/missing)
    "locked",          # per-number lock / rate limit
    "server_error",    # HTTP 500
    "timeout",         # sleep `timeout_sleep` seconds before answering
    "malformed",       # 200 with broken JSON
    "html",            # 502-style HTML error page
)


def story(name: str, base: datetime = BASE_TIME) -> list[tuple[str, str, str, str]]:
    """Return [(beijing_time_str, kind, description, location)] oldest first, from `base` (naive Beijing)."""
    return [((base + timedelta(hours=h)).strftime("%Y-%m-%d %H:%M:%S"), kind, desc, loc)
            for h, kind, desc, loc in STORIES[name]]


def mixed_story_for(number: str) -> str:
    """Return a story name picked deterministically from the number (scenario "mixed")."""
    weights = (("in_transit", 30), ("delivered", 35), ("station", 10), ("collected", 15),
               ("transferred", 3), ("exception", 4), ("returned", 3))
    h = int(hashlib.sha256(number.encode()).hexdigest(), 16) % sum(w for _, w in weights)
    for name, w in weights:
        if h < w:
            return name
        h -= w
    return "in_transit"  # pragma: no cover
