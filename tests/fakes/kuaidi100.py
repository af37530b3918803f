"""Fake Kuaidi100 (快递100): /poll/query.do and /poll, as in CARRIER_APIS.md §1.

    fake = Kuaidi100Fake(customer=..., key=..., scenarios={"YT1000000000001": "delivered"})
    url, stop = tests.fakes.server.serve(fake)
    provider = get_provider("kuaidi100", url=url, key=..., customer=..., salt=...)

Checks: form POST, `customer` known, `sign` == UPPER(MD5(param+key+customer))
over the raw received `param` (else returnCode 503), `com` known (else 400),
`phone` for shunfeng/zhongtong == `phone` knob (else 408).
Knobs (besides FakeAggregator's): `phone` (expected last 4, default "1234"),
`lock_after` (queries of one number per `lock_window` s before 锁单, default 48 / 86400),
`lock_reply` ("error": an error envelope saying the number is locked, or
"stale": keep answering the data frozen at lock time — the real body is UNCONFIRMED),
`subscribed` (number -> times subscribed). Also serves /autonumber/auto
(num + key as form or query fields; a crude prefix table; bad key -> 601 envelope). Behaviours per number: stories plus
not_found (500), bad_number (400), phone_required (408), locked (lock error),
server_error, timeout, malformed, html. `make_push()` builds a signed push body.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter, defaultdict
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from .base import FakeAggregator
from .scenarios import STORIES, story

CUSTOMER = "D4E5F6A7B8C9D0E1F2A3B4C5D6E7F8A9"
KEY = "kDtestKey2025SX"
SALT = "sx-agri-salt-2025"

KNOWN_COMS = {"ems", "youzhengguonei", "shunfeng", "zhongtong", "yuantong", "shentong", "yunda",
              "jtexpress", "jd", "debangkuaidi", "huitongkuaidi"}
PHONE_COMS = {"shunfeng", "zhongtong", "shunfengkuaiyun"}
CODES = {"ORDER": ("101", "已下单"), "PICKUP": ("103", "已揽收"), "TRANSIT": ("1002", "干线"),
         "ARRIVE_CITY": ("1001", "到达派件城市"), "OUT": ("5", "派件"), "STATION": ("501", "投柜或驿站"),
         "SIGNED": ("301", "本人签收"), "COLLECTED": ("304", "投柜或站签收"), "TRANSFER": ("7", "转投"),
         "EXCEPTION": ("208", "滞留"), "RETURNING": ("6", "退回"), "RETURNED": ("4", "退签")}
LOCK_MESSAGE = "查询过于频繁，该单号已被锁定，24小时后自动解锁"


def _md5u(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest().upper()


def track_body(number: str, com: str, scenario: str, resultv2: str = "4", steps: list | None = None) -> dict:
    """Return a query.do success body (newest first, all scalars strings) for a story (or given steps)."""
    steps = story(scenario) if steps is None else steps
    data = []
    for when, kind, desc, loc in reversed(steps):
        code, name = CODES[kind]
        item = {"time": when, "ftime": when, "context": desc, "location": loc}
        if resultv2 not in ("", "0"):
            item.update({"status": name, "areaName": f"浙江,{loc}" if loc == "绍兴市" else loc})
        if resultv2 in ("4", "6", "8"):
            item.update({"statusCode": code, "areaCode": None})
        data.append(item)
    state = CODES[steps[-1][1]][0]
    return {"message": "ok", "nu": number, "ischeck": "1" if state in ("301", "304", "4") else "0",
            "condition": "F00", "com": com, "status": "200", "state": state, "data": data}


def make_push(number: str, scenario: str, *, salt: str = SALT, com: str = "yuantong",
              status: str = "polling", sign: str | None = None) -> tuple[bytes, dict]:
    """Return (form-encoded body, headers) of a Kuaidi100 push; `sign=""` omits it."""
    last = track_body(number, com, scenario) if scenario in STORIES else {
        "message": "", "nu": number, "com": com, "state": "0", "status": "200", "data": []}
    param = json.dumps({"status": status, "billstatus": "", "message": "", "autoCheck": "0",
                        "comOld": "", "comNew": "", "lastResult": last}, ensure_ascii=False)
    fields = {"param": param}
    if sign != "":
        fields["sign"] = sign if sign is not None else _md5u(param + salt)
    return urlencode(fields).encode("utf-8"), {"Content-Type": "application/x-www-form-urlencoded"}


class Kuaidi100Fake(FakeAggregator):
    __doc__ = __doc__

    def __init__(self, *, customer: str = CUSTOMER, key: str = KEY, phone: str = "1234",
                 lock_after: int = 48, lock_window: float = 86400.0, lock_reply: str = "error", **kw):
        super().__init__(**kw)
        self.customer, self.key, self.phone = customer, key, phone
        self.lock_after, self.lock_window, self.lock_reply = lock_after, lock_window, lock_reply
        self.subscribed: Counter = Counter()
        self._times: dict[str, list[float]] = defaultdict(list)
        self._frozen: dict[str, dict] = {}

    @staticmethod
    def error(code: str, message: str) -> Response:
        return FakeAggregator.json({"result": False, "returnCode": code, "message": message})

    def handle(self, request: Request) -> Response:
        if request.method != "POST":
            return Response(b"<html>405</html>", status=405, content_type="text/html")
        if request.path == "/poll/query.do":
            return self.query(request)
        if request.path == "/poll":
            return self.subscribe(request)
        if request.path == "/autonumber/auto":
            return self.autonumber(request)
        return Response(b"<html><body>404 Not Found</body></html>", status=404, content_type="text/html")

    def query(self, request: Request) -> Response:
        form = request.form
        param_raw, sign, customer = form.get("param"), form.get("sign"), form.get("customer")
        if not param_raw or not sign or not customer:
            return self.error("400", "找不到对应公司")
        if customer != self.customer or sign != _md5u(param_raw + self.key + customer):
            return self.error("503", "验证签名失败")
        try:
            param = json.loads(param_raw)
        except ValueError:
            return self.error("501", "服务器错误")
        number, com = str(param.get("num") or ""), str(param.get("com") or "")
        self.count(number)
        scenario = self.scenario_for(number)
        now = time.monotonic()
        times = [t for t in self._times[number] if now - t < self.lock_window] + [now]
        self._times[number] = times
        if scenario == "locked" or len(times) > self.lock_after:
            if self.lock_reply == "stale" and number in self._frozen:
                return self.json(self._frozen[number])
            return self.error("502", LOCK_MESSAGE)
        failure = self.transport_failure(scenario)
        if failure is not None:
            return failure
        if com not in KNOWN_COMS or scenario == "bad_number" or not (6 <= len(number) <= 32):
            return self.error("400", "找不到对应公司")
        if scenario == "phone_required" or (com in PHONE_COMS and str(param.get("phone") or "")[-4:] != self.phone):
            return self.error("408", "快递公司参数异常：验证码错误")
        steps = [] if scenario == "not_found" else self.visible_steps(number, scenario)
        if not steps:
            return self.error("500", "查询无结果，请隔段时间再查")
        body = track_body(number, com, scenario, str(param.get("resultv2") or ""), steps=steps)
        self._frozen[number] = body
        return self.json(body)

    def subscribe(self, request: Request) -> Response:
        try:
            param = json.loads(request.form.get("param") or "")
        except ValueError:
            return self.json({"result": False, "returnCode": "700", "message": "订阅数据错误"})
        if param.get("key") != self.key:
            return self.json({"result": False, "returnCode": "600", "message": "不是合法的订阅者"})
        number = str(param.get("number") or "")
        callback = (param.get("parameters") or {}).get("callbackurl") or ""
        if not number or not callback.startswith(("http://", "https://")) or param.get("company") not in KNOWN_COMS:
            return self.json({"result": False, "returnCode": "700", "message": "订阅数据错误"})
        self.subscribed[number] += 1
        if self.subscribed[number] > 1:
            return self.json({"result": False, "returnCode": "501", "message": "重复订阅"})
        return self.json({"result": True, "returnCode": "200", "message": "提交成功"})

    def autonumber(self, request: Request) -> Response:
        number, key = request.values.get("num") or "", request.values.get("key") or ""
        if key != self.key:
            return self.json({"returnCode": "601", "message": "key过期", "result": False})
        rules = (("SF", ["shunfeng"]), ("YT", ["yuantong"]), ("JT", ["jtexpress"]), ("JD", ["jd"]),
                 ("DPK", ["debangkuaidi", "debangwuliu"]))
        coms = next((c for prefix, c in rules if number.startswith(prefix)), None)
        if coms is None and number.isdigit():
            coms = {13: ["ems", "youzhengguonei", "yunda"], 14: ["zhongtong"], 15: ["shentong", "yunda"]}.get(
                len(number), [])
        return self.json([{"comCode": c, "name": c, "lengthPre": len(number), "noPre": number[:4], "noCount": 1}
                          for c in coms or []])
