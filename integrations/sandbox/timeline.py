"""The sandbox carrier's planned life of a parcel (pure, deterministic per number).

Places are Shaoxing counties/towns (DOMAIN.md §2) and real sorting-hub names;
no phone numbers are generated.
"""

from __future__ import annotations

import hashlib
import random
import re
from datetime import datetime, timedelta, timezone

from ..models import TrackEvent
from .statuses import map_state

NUMBER_RE = re.compile(r"^SBX\d{10}$")
DEFAULT_KNOBS = {
    "exception_share": 0.04,
    "station_share": 0.25,
    "transfer_share": 0.03,
    "return_share": 0.02,
    "attempt_fail_share": 0.05,
    "late_pickup_share": 0.15,
}

# (county, county sorting centre, towns); towns from shaoxing_divisions.csv.
ORIGINS = (
    ("诸暨市", "诸暨分拨中心", ("山下湖镇", "枫桥镇", "赵家镇", "暨阳街道")),
    ("上虞区", "上虞分拨中心", ("驿亭镇", "百官街道", "丰惠镇")),
    ("嵊州市", "嵊州分拨中心", ("金庭镇", "谷来镇", "剡湖街道")),
    ("新昌县", "新昌分拨中心", ("回山镇", "镜岭镇", "儒岙镇", "七星街道")),
    ("柯桥区", "柯桥分拨中心", ("平水镇", "王坛镇", "稽东镇", "柯桥街道")),
    ("越城区", "越城分拨中心", ("富盛镇", "东湖街道", "皋埠街道")),
)
# (city, hub, districts)
DESTINATIONS = (
    ("杭州市", "杭州转运中心", ("西湖区", "拱墅区", "余杭区", "滨江区")),
    ("上海市", "上海转运中心", ("浦东新区", "闵行区", "徐汇区", "杨浦区")),
    ("北京市", "北京转运中心", ("朝阳区", "海淀区", "丰台区")),
    ("广州市", "广州转运中心", ("天河区", "白云区", "番禺区")),
    ("深圳市", "深圳转运中心", ("南山区", "福田区", "龙岗区")),
    ("南京市", "南京转运中心", ("鼓楼区", "江宁区", "玄武区")),
    ("宁波市", "宁波转运中心", ("鄞州区", "海曙区", "江北区")),
    ("苏州市", "苏州转运中心", ("姑苏区", "工业园区", "吴中区")),
    ("成都市", "成都转运中心", ("武侯区", "锦江区", "高新区")),
    ("武汉市", "武汉转运中心", ("江汉区", "洪山区", "武昌区")),
)
# The province (GB/T 2260 code) of each destination city, so a parcel's destination can agree with its last scan.
CITY_PROVINCES = {
    "杭州市": "330000", "上海市": "310000", "北京市": "110000", "广州市": "440000", "深圳市": "440000",
    "南京市": "320000", "宁波市": "330000", "苏州市": "320000", "成都市": "510000", "武汉市": "420000",
}
COURIERS = ("王师傅", "李师傅", "张师傅", "陈师傅", "刘师傅", "周师傅")
STATIONS = ("菜鸟驿站", "兔喜生活", "妈妈驿站", "丰巢快递柜", "邮政便民服务站")
EXCEPTION_REASONS = ("天气原因，航班/班车延误", "收件地址不详，待核实", "分拣异常，快件滞留", "道路管制，运输延误")


def seed_for(number: str) -> int:
    """Return a stable seed for a number (hashlib, not Python's salted hash())."""
    return int.from_bytes(hashlib.sha256(number.encode("utf-8")).digest()[:8], "big")


def transfer_number(number: str) -> str:
    """Return the deterministic China Post number a 转投 hands the parcel over with."""
    digits = str(seed_for("transfer:" + number))[-11:].rjust(11, "0")
    return "98" + digits


def make_number(i: int) -> str:
    """Return the i-th sandbox number: SBX + 10 digits."""
    if not 0 <= i < 10 ** 10:
        raise ValueError("sandbox number index out of range")
    return f"SBX{i:010d}"


def _first_draws(number: str):
    # Every decision is drawn first, always in the same order, so knobs only move thresholds.
    rng = random.Random(seed_for(number))
    shares = tuple(rng.random() for _ in range(7))
    county, centre, towns = rng.choice(ORIGINS)
    town = rng.choice(towns)
    return rng, shares, (county, centre, towns, town), rng.choice(DESTINATIONS)


def destination_of(number: str) -> tuple[str, str]:
    """The city a sandbox parcel is delivered in, and that city's province code."""
    city = _first_draws(number)[3][0]
    return city, CITY_PROVINCES[city]


def timeline(number: str, registered_at: datetime, **knobs: float) -> list[TrackEvent]:
    """Return the full planned life of a sandbox parcel (oldest first, aware UTC times).

    Knobs (shares 0..1): exception_share, station_share, transfer_share,
    return_share, attempt_fail_share, late_pickup_share (pickup after >24 h).
    """
    if registered_at.tzinfo is None:
        raise ValueError("registered_at must be timezone-aware")
    unknown = set(knobs) - set(DEFAULT_KNOBS)
    if unknown:
        raise TypeError(f"unknown sandbox knobs: {sorted(unknown)}")
    k = {**DEFAULT_KNOBS, **knobs}
    rng, (u_exc, u_resolve, u_station, u_transfer, u_return, u_fail, u_late), (county, centre, towns, town), \
        (city, hub, districts) = _first_draws(number)
    district = rng.choice(districts)
    courier = rng.choice(COURIERS)
    station = rng.choice(STATIONS)
    reason = rng.choice(EXCEPTION_REASONS)

    events: list[TrackEvent] = []
    t = registered_at

    def add(delta_hours: float, code: str, desc: str, location: str | None) -> None:
        nonlocal t
        t = t + timedelta(hours=delta_hours)
        status, sub = map_state(code)
        events.append(TrackEvent(t.replace(microsecond=0).astimezone(timezone.utc), status, desc, location, code, sub))

    outlet = f"{county[:-1]}{town}网点"  # e.g. 诸暨山下湖镇网点
    add(rng.uniform(0.05, 0.5), "ORDER", "商家已下单，等待快递员揽收", f"绍兴市{county}")
    pickup_gap = rng.uniform(24.5, 48) if u_late < k["late_pickup_share"] else rng.uniform(1.5, 20)
    add(pickup_gap, "PICKUP", f"【绍兴市】{outlet} 已揽收", f"绍兴市{county}")
    add(rng.uniform(1, 4), "DEPART", f"快件已从【{outlet}】发出，下一站【{centre}】", f"绍兴市{county}")
    add(rng.uniform(1, 3), "ARRIVE", f"快件已到达【{centre}】", f"绍兴市{county}")
    first_hub = "杭州转运中心" if city != "杭州市" else hub
    add(rng.uniform(1, 5), "DEPART", f"快件已从【{centre}】发出，下一站【{first_hub}】", f"绍兴市{county}")
    add(rng.uniform(2, 5), "ARRIVE", f"快件已到达【{first_hub}】", "杭州市")
    if city != "杭州市":
        add(rng.uniform(1, 4), "DEPART", f"快件已从【{first_hub}】发出，下一站【{hub}】", "杭州市")
        add(rng.uniform(4, 30), "ARRIVE_CITY", f"快件已到达【{hub}】", city)
    else:
        add(rng.uniform(0.5, 2), "ARRIVE_CITY", f"快件已到达【{city}{district}分拨中心】", city)

    if u_exc < k["exception_share"]:
        add(rng.uniform(2, 12), "EXCEPTION", f"快件异常：{reason}，快件滞留【{hub}】", city)
        if u_resolve < 0.6:
            add(rng.uniform(6, 30), "RESOLVED", "异常已处理，快件继续派送", city)
        elif u_return >= k["return_share"]:
            return events  # stuck: the exception never resolves

    carrier_word = "派件员"
    if u_transfer < k["transfer_share"]:
        new = transfer_number(number)
        add(rng.uniform(2, 10), "TRANSFER",
            f"快件已转投中国邮政，新单号：{new}，后续物流请以邮政信息为准", city)
        add(rng.uniform(4, 20), "ARRIVE", f"【{city}】邮政{district}揽投部 已收件", city)
        carrier_word = "投递员"

    if u_return < k["return_share"]:
        add(rng.uniform(3, 10), "OUT", f"【{city}】{district}营业部 {carrier_word}{courier} 正在派件", city)
        add(rng.uniform(1, 6), "REFUSED", "收件人拒收，快件退回寄件人", city)
        add(rng.uniform(2, 8), "RETURNING", f"退回件已从【{hub}】发出，下一站【{centre}】", city)
        add(rng.uniform(12, 40), "RETURNING", f"退回件已到达【{centre}】", f"绍兴市{county}")
        add(rng.uniform(3, 24), "RETURNED", "退回件已由寄件人签收", f"绍兴市{county}")
        return events

    add(rng.uniform(3, 10), "OUT", f"【{city}】{district}营业部 {carrier_word}{courier} 正在派件（如有疑问请联系派件网点）", city)
    if u_fail < k["attempt_fail_share"]:
        add(rng.uniform(1, 4), "ATTEMPT_FAIL", "派送不成功，收件人电话无人接听，将再次派送", city)
        add(rng.uniform(16, 26), "OUT", f"【{city}】{district}营业部 {carrier_word}{courier} 正在派件（第二次派送）", city)
    if u_station < k["station_share"]:
        add(rng.uniform(0.5, 3), "STATION", f"快件已放入【{station}·{district}店】，请凭取件码及时取件", city)
        add(rng.uniform(1, 48), "COLLECTED", f"您的快件已从【{station}·{district}店】取出，已签收，感谢使用", city)
    else:
        who = rng.choice(("本人", "家人", "门卫"))
        add(rng.uniform(0.5, 3), "SIGNED", f"快件已签收，签收人：{who}，如有疑问请联系派件网点", city)
    return events

