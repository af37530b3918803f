"""Kdniao specifics: DataSign, 1002 vs 8001, failures, subscription, push."""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import urlencode

import pytest
import requests

from integrations import (AuthError, InvalidNumber, NeedsPhone, NotFoundYet, RateLimited, Status,
                          TrackRequest, TrackResult)
from integrations.kdniao import mapping
from integrations.kdniao.client import KdniaoProvider
from tests.fakes import kdniao as fake_mod

REQ = TrackRequest("yto", "YT1000000000001")


def test_data_sign_matches_documented_example():
    data = '{"ShipperCode":"YTO","LogisticCode":"YT7519063348270"}'
    assert mapping.data_sign(data, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0") == \
        "MDE1YzBhM2Q0ZDkxZGY5ZDcxY2U2NTI3OWI4MWU3ZmY="


def test_form_is_url_encoded_once():
    form = mapping.build_form('{"a":1}', "1002", "1690001", "key")
    body = requests.Request("POST", "http://x/", data=form).prepare().body
    assert "DataSign=" + form["DataSign"].replace("=", "%3D") in body
    assert form["DataType"] == "2" and form["RequestType"] == "1002"


def test_fake_rejects_raw_digest_sign(kdn):
    data = '{"ShipperCode":"YTO","LogisticCode":"YT1000000000001"}'
    raw = base64.b64encode(hashlib.md5((data + fake_mod.APP_KEY).encode()).digest()).decode()
    r = requests.post(kdn.url + "/Ebusiness/EbusinessOrderHandle.aspx", timeout=2, data={
        "RequestData": data, "EBusinessID": fake_mod.EBUSINESS_ID, "RequestType": "1002", "DataSign": raw})
    assert r.json()["Success"] is False and "非法参数" in r.json()["Reason"]


def test_request_data_carries_customer_name_for_sf():
    data = json.loads(mapping.build_request_data(TrackRequest("sf", "SF1", phone_last4="1234")))
    assert data == {"ShipperCode": "SF", "LogisticCode": "SF1", "CustomerName": "1234"}


def test_8001_uses_state_ex_and_action(kdn):
    p = kdn.make(request_type="8001")
    kdn.fake.scenarios[REQ.number] = "station"
    [r] = p.track([REQ])
    assert r.status is Status.AVAILABLE_FOR_PICKUP and r.raw_state == "211"
    assert [e.raw_code for e in r.events][:2] == ["10", "1"]
    assert r.events[-1].location == "上海市"


def test_numeric_state_from_old_samples(kdn):
    kdn.fake.numeric_state = True
    kdn.fake.scenarios[REQ.number] = "delivered"
    [r] = kdn.provider.track([REQ])
    assert r.status is Status.DELIVERED and r.raw_state == "3"


@pytest.mark.parametrize("reason, outcome", [
    ("暂无轨迹信息", NotFoundYet),
    ("无效的输入[【ShipperCode】XX不正确]", InvalidNumber),
    ("顺丰单号需要传CustomerName", NeedsPhone),
])
def test_failure_reasons_per_number(reason, outcome):
    r = mapping.parse_query_response(REQ, {"Success": False, "Reason": reason, "Traces": []})
    assert type(r) is outcome


def test_failure_reasons_whole_call():
    with pytest.raises(AuthError):
        mapping.parse_query_response(REQ, {"Success": False, "Reason": "非法参数[请核实ID和key是否正确]"})
    with pytest.raises(AuthError):  # QuotaExhausted is an AuthError
        mapping.parse_query_response(REQ, {"Success": False, "Reason": "业务错误[没有可用套餐]"})
    with pytest.raises(RateLimited):
        mapping.parse_query_response(REQ, {"Success": False, "Reason": "超出查询次数限制(日查询次数<=3万)"})


def test_slash_dates_and_out_of_order_traces():
    item = fake_mod.track_item(REQ.number, "YTO", "delivered")
    traces = list(reversed(item["Traces"])) + [item["Traces"][0]]
    traces[-1] = {**traces[-1], "AcceptTime": traces[-1]["AcceptTime"].replace("-", "/")}
    r = mapping.parse_query_response(REQ, {**item, "Traces": traces})
    assert [e.occurred_at for e in r.events] == sorted(e.occurred_at for e in r.events)
    assert len(r.events) == 7


def test_subscribe(kdn):
    assert kdn.provider.subscribe(REQ, "https://example.org/push/kdniao") is None
    assert kdn.fake.subscribed[REQ.number] == 1
    assert isinstance(kdn.provider.subscribe(TrackRequest("sf", "SF1000000000001"), "https://e.org"), NeedsPhone)


def test_push_good_signature():
    body, headers = fake_mod.make_push({"YT1000000000001": "delivered", "YT1000000000002": "station"})
    p = KdniaoProvider(ebusiness_id=fake_mod.EBUSINESS_ID, app_key=fake_mod.APP_KEY)
    results = p.parse_push(body, headers)
    assert [(r.number, r.status) for r in results] == [
        ("YT1000000000001", Status.DELIVERED), ("YT1000000000002", Status.AVAILABLE_FOR_PICKUP)]
    assert all(isinstance(r, TrackResult) and r.carrier == "yto" for r in results)


@pytest.mark.parametrize("data_sign", ["", "AVwKPU2R351xzmUnm4Hn/w==", None])
def test_push_bad_or_missing_signature(data_sign):
    body, headers = fake_mod.make_push({"YT1000000000001": "delivered"}, data_sign=data_sign,
                                       app_key="wrong" if data_sign is None else fake_mod.APP_KEY)
    with pytest.raises(AuthError):
        KdniaoProvider(ebusiness_id="1", app_key=fake_mod.APP_KEY).parse_push(body, headers)


def test_push_signature_checked_before_parsing():
    body = urlencode({"RequestData": "{broken", "DataSign": "x", "RequestType": "101"}).encode()
    with pytest.raises(AuthError, match="DataSign"):
        KdniaoProvider(ebusiness_id="1", app_key="k").parse_push(body, {})


def test_push_reply_bytes():
    status, ctype, body = KdniaoProvider(ebusiness_id="1690001", app_key="k").push_reply(True)
    reply = json.loads(body)
    assert status == 200 and ctype.startswith("application/json")
    assert reply["EBusinessID"] == "1690001" and reply["Success"] is True and reply["Reason"] == ""
    assert len(reply["UpdateTime"]) == 19  # yyyy-MM-dd HH:mm:ss, Beijing time
    assert json.loads(KdniaoProvider(ebusiness_id="1", app_key="k").push_reply(False)[2])["Success"] is False
