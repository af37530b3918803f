"""Fake Kdniao (快递鸟): instant query 1002/8001 and subscribe 1008, as in CARRIER_APIS.md §2.

    fake = KdniaoFake(scenarios={"YT1000000000001": "station"})
    url, stop = tests.fakes.server.serve(fake)
    provider = get_provider("kdniao", url=url, ebusiness_id=EBUSINESS_ID, app_key=APP_KEY)

Endpoints: POST /Ebusiness/EbusinessOrderHandle.aspx (1002, 8001), POST /api/dist (1008).
Checks: form fields present, EBusinessID known and DataSign ==
Base64(lowercase-hex MD5(RequestData + AppKey)) (raw-digest Base64 is rejected) —
else Success:false "非法参数[请核实ID和key是否正确]"; ShipperCode known; SF needs
CustomerName == `phone` knob (default "1234"). Traces come oldest first; 8001 adds
StateEx/Action/Location. Numeric State values are sent as strings unless
`numeric_state=True` (old samples). Behaviours per number: stories plus not_found,
bad_number, phone_required, locked (Reason "超出查询次数限制"), server_error, timeout,
malformed, html. `make_push()` builds a signed push body.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from .base import FakeAggregator
from .scenarios import STORIES, story

EBUSINESS_ID = "1690001"
APP_KEY = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
KNOWN_SHIPPERS = {"EMS", "YZPY", "SF", "ZTO", "YTO", "STO", "YD", "JTSD", "JD", "DBL", "HTKY"}
# kind -> (State, StateEx/Action)
CODES = {"ORDER": ("1", "10"), "PICKUP": ("1", "1"), "TRANSIT": ("2", "2"), "ARRIVE_CITY": ("2", "201"),
         "OUT": ("2", "202"), "STATION": ("2", "211"), "SIGNED": ("3", "301"), "COLLECTED": ("3", "311"),
         "TRANSFER": ("2", "2"), "EXCEPTION": ("4", "4"), "RETURNING": ("4", "407"), "RETURNED": ("4", "406")}
BAD_SIGN_REASON = "非法参数[请核实ID和key是否正确]"


def sign(request_data: str, app_key: str = APP_KEY) -> str:
    """Return the documented DataSign (before form URL-encoding)."""
    return base64.b64encode(hashlib.md5((request_data + app_key).encode("utf-8")).hexdigest().encode()).decode()


def track_item(number: str, shipper: str, scenario: str, *, request_type: str = "1002",
               numeric_state: bool = False, steps: list | None = None) -> dict:
    """Return one tracking item (Success true) for a story (or given steps)."""
    steps = story(scenario) if steps is None else steps
    traces = []
    for when, kind, desc, loc in steps:
        t = {"AcceptTime": when, "AcceptStation": desc}
        if request_type in ("8001", "8008", "push"):
            t.update({"Location": loc, "Action": CODES[kind][1]})
        traces.append(t)
    state, state_ex = CODES[steps[-1][1]]
    item = {"LogisticCode": number, "ShipperCode": shipper, "Success": True, "Reason": None,
            "State": int(state) if numeric_state else state, "Traces": traces}
    if request_type in ("8001", "8008", "push"):
        item.update({"StateEx": state_ex, "Location": steps[-1][3]})
    return item


def make_push(numbers_scenarios: dict[str, str], *, app_key: str = APP_KEY, ebusiness_id: str = EBUSINESS_ID,
              shipper: str = "YTO", data_sign: str | None = None) -> tuple[bytes, dict]:
    """Return (form body, headers) of a push (RequestType 101); `data_sign=""` omits DataSign."""
    data = [track_item(n, shipper, s, request_type="push") for n, s in numbers_scenarios.items() if s in STORIES]
    for d in data:
        d["EBusinessID"] = ebusiness_id
    request_data = json.dumps({"EBusinessID": ebusiness_id, "PushTime": "2026-06-02 12:00:00",
                               "Count": str(len(data)), "Data": data}, ensure_ascii=False)
    fields = {"RequestData": request_data, "RequestType": "101"}
    if data_sign != "":
        fields["DataSign"] = data_sign if data_sign is not None else sign(request_data, app_key)
    return urlencode(fields).encode("utf-8"), {"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"}


class KdniaoFake(FakeAggregator):
    __doc__ = __doc__

    def __init__(self, *, ebusiness_id: str = EBUSINESS_ID, app_key: str = APP_KEY, phone: str = "1234",
                 numeric_state: bool = False, **kw):
        super().__init__(**kw)
        self.ebusiness_id, self.app_key, self.phone = ebusiness_id, app_key, phone
        self.numeric_state = numeric_state
        self.subscribed: Counter = Counter()

    def fail(self, reason: str, number: str = "", shipper: str = "") -> Response:
        return self.json({"EBusinessID": self.ebusiness_id, "LogisticCode": number, "ShipperCode": shipper,
                          "Success": False, "Reason": reason, "State": "0", "Traces": []})

    def handle(self, request: Request) -> Response:
        if request.method != "POST" or request.path not in ("/Ebusiness/EbusinessOrderHandle.aspx", "/api/dist"):
            return Response(b"<html><body>404</body></html>", status=404, content_type="text/html")
        form = request.form
        data_raw, ebid, rtype, dsign = (form.get(k) for k in ("RequestData", "EBusinessID", "RequestType", "DataSign"))
        if not data_raw or not ebid or not rtype or not dsign:
            return self.fail("参数不完整")
        if ebid != self.ebusiness_id or dsign != sign(data_raw, self.app_key):
            return self.fail(BAD_SIGN_REASON)
        try:
            data = json.loads(data_raw)
        except ValueError:
            return self.fail("RequestData格式错误")
        number, shipper = str(data.get("LogisticCode") or ""), str(data.get("ShipperCode") or "")
        if request.path == "/api/dist" or rtype in ("1008", "8008"):
            return self.subscribe(number, shipper)
        if rtype not in ("1002", "8001"):
            return self.fail("业务错误[RequestType不支持]", number, shipper)
        self.count(number)
        scenario = self.scenario_for(number)
        failure = self.transport_failure(scenario)
        if failure is not None:
            return failure
        if scenario == "locked":
            return self.fail("超出查询次数限制(日查询次数<=3万)", number, shipper)
        if shipper not in KNOWN_SHIPPERS or scenario == "bad_number":
            return self.fail(f"无效的输入[【ShipperCode】{shipper}不正确]", number, shipper)
        if scenario == "phone_required" or (shipper == "SF" and str(data.get("CustomerName") or "") != self.phone):
            return self.fail("顺丰单号需要传CustomerName(收/寄件人手机号后四位)", number, shipper)
        steps = [] if scenario == "not_found" else self.visible_steps(number, scenario)
        if not steps:
            return self.json({"EBusinessID": self.ebusiness_id, "LogisticCode": number, "ShipperCode": shipper,
                              "Success": True, "Reason": "暂无轨迹信息", "State": "0", "Traces": []})
        item = track_item(number, shipper, scenario, request_type=rtype, numeric_state=self.numeric_state,
                          steps=steps)
        item["EBusinessID"] = self.ebusiness_id
        return self.json(item)

    def subscribe(self, number: str, shipper: str) -> Response:
        if shipper not in KNOWN_SHIPPERS or not number:
            return self.fail(f"无效的输入[【ShipperCode】{shipper}不正确]", number, shipper)
        self.subscribed[number] += 1
        return self.json({"EBusinessID": self.ebusiness_id, "UpdateTime": "2026-06-01 08:00:00",
                          "Success": True, "Reason": "", "EstimatedDeliveryTime": "2026-06-03"})
