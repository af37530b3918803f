"""Kuaidi100 specifics: signing, error codes, the lock, subscription, push."""

from __future__ import annotations

import json
import random
from datetime import datetime, timezone
from urllib.parse import urlencode

import pytest

from integrations import (AuthError, BadRequest, InvalidNumber, NeedsPhone, NotFoundYet, QuotaExhausted,
                          RateLimited, Status, TemporaryError, TrackRequest, TrackResult)
from integrations.kuaidi100 import mapping
from integrations.kuaidi100.client import Kuaidi100Provider
from tests.fakes import kuaidi100 as fake_mod

REQ = TrackRequest("yto", "YT1000000000001")


def test_query_sign_matches_documented_example():
    param = '{"com":"yuantong","num":"YT7530218846152"}'
    assert mapping.query_sign(param, "kDtestKey2025SX", "D4E5F6A7B8C9D0E1F2A3B4C5D6E7F8A9") == \
        "44FDA9BBF06B37D0678C983B400EFBAC"


def test_push_sign_matches_documented_example():
    param = '{"status":"polling","message":"","lastResult":{"nu":"YT7530218846152","state":"0","data":[]}}'
    assert mapping.push_sign(param, "sx-agri-salt-2025") == "1F1C2AAE7541AD8683DA6907140D9EAA"


def test_query_form_signs_the_exact_param_sent():
    form = mapping.build_query_form(TrackRequest("sf", "SF1000000000001", phone_last4="13900001234"), "k", "C")
    param = json.loads(form["param"])
    assert param == {"com": "shunfeng", "num": "SF1000000000001", "phone": "1234", "resultv2": "4"}
    assert form["customer"] == "C"
    assert form["sign"] == mapping.query_sign(form["param"], "k", "C")
    assert "k" not in form.values()  # the key itself is never sent


@pytest.mark.parametrize("body, outcome", [
    ({"result": False, "returnCode": "500", "message": "查询无结果，请隔段时间再查"}, NotFoundYet),
    ({"result": False, "returnCode": "400", "message": "找不到对应公司"}, InvalidNumber),
    ({"result": False, "returnCode": "408", "message": "快递公司参数异常：验证码错误"}, NeedsPhone),
    ({"status": "408", "message": "快递公司参数异常：验证码错误"}, NeedsPhone),  # web-style envelope
])
def test_per_number_return_codes(body, outcome):
    assert type(mapping.parse_query_response(REQ, body)) is outcome


@pytest.mark.parametrize("code, error", [
    ("503", AuthError), ("601", QuotaExhausted), ("501", TemporaryError), ("502", RateLimited), ("999", BadRequest),
])
def test_whole_call_return_codes(code, error):
    with pytest.raises(error):
        mapping.parse_query_response(REQ, {"result": False, "returnCode": code, "message": "x"})


def test_lock_after_too_many_queries_is_rate_limited_for_a_day(k100):
    k100.fake.lock_after = 2
    p = k100.provider
    for _ in range(2):
        assert isinstance(p.track([REQ])[0], TrackResult)
    with pytest.raises(RateLimited) as exc:
        p.track([REQ])
    assert exc.value.retry_after == 24 * 3600
    assert k100.fake.counts[REQ.number] == 3


def test_lock_stale_reading_still_returns_frozen_data(k100):
    # The real lock body is UNCONFIRMED; the other reading: stale data, no error.
    k100.fake.lock_after, k100.fake.lock_reply = 1, "stale"
    first = k100.provider.track([REQ])[0]
    k100.fake.scenarios[REQ.number] = "delivered"
    again = k100.provider.track([REQ])[0]
    assert again.status is first.status is Status.IN_TRANSIT


def test_without_status_codes_falls_back_to_names_and_text():
    body = fake_mod.track_body("YT1", "yuantong", "delivered", resultv2="1")  # names only
    r = mapping.parse_query_response(REQ, body)
    assert r.status is Status.DELIVERED and r.picked_up_at is not None
    body = fake_mod.track_body("YT1", "yuantong", "delivered", resultv2="0")  # nothing per event
    r = mapping.parse_query_response(REQ, body)
    assert [e.status for e in r.events][-2:] == [Status.OUT_FOR_DELIVERY, Status.DELIVERED]
    assert r.picked_up_at == datetime(2026, 6, 1, 3, 0, tzinfo=timezone.utc)


def test_out_of_order_and_duplicate_events_come_back_sorted_once():
    body = fake_mod.track_body("YT1", "yuantong", "delivered")
    items = body["data"] + body["data"][:2]
    random.Random(3).shuffle(items)
    r = mapping.parse_query_response(REQ, {**body, "data": items})
    times = [e.occurred_at for e in r.events]
    assert times == sorted(times) and len(r.events) == 7
    assert r.events[0].occurred_at == datetime(2026, 6, 1, 0, 0, tzinfo=timezone.utc)  # 08:00 Beijing
    assert r.events[0].raw_code == "101"


def test_unknown_carrier_is_invalid_without_calling(k100):
    [r] = k100.provider.track([TrackRequest("sandbox", "SBX0000000001")])
    assert isinstance(r, InvalidNumber) and k100.fake.requests == 0


def test_subscribe(k100):
    p = k100.provider
    assert p.subscribe(REQ, "https://example.org/push/kuaidi100") is None
    assert p.subscribe(REQ, "https://example.org/push/kuaidi100") is None  # 501 重复订阅 = ok
    assert isinstance(p.subscribe(REQ, "not-a-url"), InvalidNumber)       # 700
    assert isinstance(p.subscribe(TrackRequest("zto", "78000000000001"), "https://e.org/p"), NeedsPhone)
    with pytest.raises(AuthError):
        k100.make(key="nope").subscribe(REQ, "https://example.org/push")


def test_push_good_signature():
    body, headers = fake_mod.make_push("YT1000000000001", "collected")
    p = Kuaidi100Provider(key="k", customer="c", salt=fake_mod.SALT)
    [r] = p.parse_push(body, headers)
    p.close()
    assert r.number == "YT1000000000001" and r.carrier == "yto"
    assert r.status is Status.DELIVERED and r.at_station


@pytest.mark.parametrize("sign", ["", "0" * 32, None])
def test_push_bad_or_missing_signature(sign):
    body, headers = fake_mod.make_push("YT1000000000001", "delivered", sign=sign,
                                       salt="other-salt" if sign is None else fake_mod.SALT)
    p = Kuaidi100Provider(key="k", customer="c", salt=fake_mod.SALT)
    with pytest.raises(AuthError):
        p.parse_push(body, headers)
    p.close()


def test_push_signature_checked_before_parsing():
    body = urlencode({"param": "{not json", "sign": "BAD"}).encode()
    with pytest.raises(AuthError, match="signature"):
        Kuaidi100Provider(key="k", customer="c", salt="s").parse_push(body, {})


def test_push_abort_marks_tracking_stopped():
    body, headers = fake_mod.make_push("YT1000000000001", "in_transit", status="abort")
    [r] = Kuaidi100Provider(key="k", customer="c", salt=fake_mod.SALT).parse_push(body, headers)
    assert r.tracking_stopped and r.status is Status.IN_TRANSIT


def test_push_reply_bytes():
    status, ctype, body = Kuaidi100Provider.push_reply(True)
    assert status == 200 and ctype.startswith("application/json")
    assert json.loads(body) == {"result": True, "returnCode": "200", "message": "成功"}
    assert json.loads(Kuaidi100Provider.push_reply(False)[2])["result"] is False


def test_json_labelled_as_html_is_still_json(httpserver):
    # Some Chinese APIs send JSON as text/html without a charset: judge the body, decode UTF-8.
    body = fake_mod.track_body(REQ.number, "yuantong", "delivered")
    httpserver.expect_request("/poll/query.do", method="POST").respond_with_data(
        json.dumps(body, ensure_ascii=False).encode("utf-8"), content_type="text/html")
    p = Kuaidi100Provider(key="k", customer="c", url=httpserver.url_for("/"), timeout=2)
    [r] = p.track([REQ])
    p.close()
    assert r.status is Status.DELIVERED and r.events[-1].description.startswith("快件已签收")


def test_autonumber(k100):
    assert k100.provider.autonumber("SF1000000000001") == ["sf"]
    assert k100.provider.autonumber("DPK300000000001") == ["deppon"]  # debangwuliu is not ours
    assert k100.provider.autonumber("1100012345678") == ["ems", "chinapost", "yunda"]
    assert k100.provider.autonumber("??") == []
    with pytest.raises(QuotaExhausted):
        k100.make(key="expired").autonumber("SF1000000000001")
    assert get_provider_default_autonumber_url() == "https://www.kuaidi100.com/autonumber/auto"


def get_provider_default_autonumber_url():
    p = Kuaidi100Provider(key="k", customer="c")
    p.close()
    return p.autonumber_url
