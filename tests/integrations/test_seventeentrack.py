"""17TRACK specifics: batching, register-then-query, rejections, rate limit, webhook."""

from __future__ import annotations

import json

import pytest

from integrations import (AuthError, BadRequest, NotFoundYet, QuotaExhausted, RateLimited, Status,
                          TrackRequest, TrackResult)
from integrations.seventeentrack import mapping
from integrations.seventeentrack.client import SeventeenTrackProvider
from tests.fakes import seventeentrack as fake_mod


def reqs(n, carrier="ems"):
    return [TrackRequest(carrier, f"EA{i:011d}CN") for i in range(n)]


def test_webhook_sign_matches_documented_example():
    body = b'{"event":"TRACKING_UPDATED","data":{"number":"EA523018462CN"}}'
    assert mapping.webhook_sign(body, "TEST17TOKENSHAOXING0000000000000") == \
        "d630e6f72cb3259a367673e8ee342e1718119983b742da8d6735202bca967f95"


def test_41_numbers_take_two_calls(t17):
    # The harness's 0.4 s client timeout is for the timeout scenarios; on a loaded machine a
    # 40-number call can take longer than that, time out and fail the batching check.
    out = t17.make(timeout=10).track(reqs(41))
    assert len(out) == 41 and all(isinstance(o, TrackResult) for o in out)
    assert t17.fake.calls["gettrackinfo"] == 2 and t17.fake.calls["register"] == 0
    assert [o.number for o in out] == [r.number for r in reqs(41)]


def test_carrier_key_sent_only_when_known():
    items = mapping.build_items([TrackRequest("ems", "EA1"), TrackRequest("chinapost", "9800000000001"),
                                 TrackRequest("yto", "YT1")])
    assert items == [{"number": "EA1", "carrier": 3013}, {"number": "9800000000001", "carrier": 3011},
                     {"number": "YT1"}]


def test_unregistered_numbers_are_registered_then_queried(t17):
    rs = reqs(3)
    t17.fake.unregistered = {rs[1].number}
    out = t17.provider.track(rs)
    assert all(isinstance(o, TrackResult) for o in out)
    assert t17.fake.calls["register"] == 1 and t17.fake.register_counts[rs[1].number] == 1
    assert t17.fake.calls["gettrackinfo"] == 2


def test_register_already_registered_is_success(t17):
    r = reqs(1)[0]
    assert t17.provider.register([r]) == {r.number: None}
    assert t17.provider.subscribe(r, None) is None  # -18019901 the second time
    assert t17.fake.register_counts[r.number] == 2


def test_register_quota_exhausted(t17):
    t17.fake.quota_exhausted = True
    with pytest.raises(QuotaExhausted):
        t17.provider.register(reqs(1))


def test_rate_limit_429(t17):
    t17.fake.rate_limit_per_sec = 1
    t17.provider.track(reqs(1))
    with pytest.raises(RateLimited) as exc:
        t17.provider.track(reqs(1))
    assert exc.value.retry_after == 1.0


def test_too_many_numbers_code_is_a_bad_request():
    with pytest.raises(BadRequest):
        mapping.raise_for_envelope({"code": -18010014, "data": {"errors": [{"code": -18010014}]}})
    with pytest.raises(AuthError):
        mapping.raise_for_envelope({"code": -18010002, "data": {}})


def test_no_info_rejection_is_not_found():
    r = mapping.classify_rejection(reqs(1)[0], {"number": "x", "error": {"code": -18019909, "message": "no info"}})
    assert isinstance(r, NotFoundYet)


def test_events_sorted_and_milestones_used():
    item = {"number": "EA1", "carrier": 3013, "track_info": fake_mod.track_info("delivered")}
    r = mapping.parse_item(TrackRequest("ems", "EA1"), item)
    assert [e.occurred_at for e in r.events] == sorted(e.occurred_at for e in r.events)
    assert r.picked_up_at.isoformat() == "2026-06-01T03:00:00+00:00"
    assert r.delivered_at.isoformat() == "2026-06-02T04:00:00+00:00"
    assert r.carrier == "ems" and r.raw_state == "Delivered_Other"


def test_webhook_good_signature_and_header_case():
    body, headers = fake_mod.make_webhook("EA523018462CN", "station")
    headers = {"Sign": headers["sign"]}
    [r] = SeventeenTrackProvider(token=fake_mod.TOKEN).parse_push(body, headers)
    assert r.number == "EA523018462CN" and r.carrier == "chinapost" and r.status is Status.AVAILABLE_FOR_PICKUP


@pytest.mark.parametrize("sign", ["", "0" * 64, None])
def test_webhook_bad_or_missing_signature(sign):
    body, headers = fake_mod.make_webhook("EA523018462CN", "delivered", sign=sign,
                                          token="other" if sign is None else fake_mod.TOKEN)
    with pytest.raises(AuthError):
        SeventeenTrackProvider(token=fake_mod.TOKEN).parse_push(body, headers)


def test_webhook_signature_checked_before_parsing():
    with pytest.raises(AuthError, match="signature"):
        SeventeenTrackProvider(token="t").parse_push(b"{not json", {"sign": "abc"})


def test_webhook_tracking_stopped():
    body, headers = fake_mod.make_webhook("EA523018462CN", "in_transit", event="TRACKING_STOPPED")
    [r] = SeventeenTrackProvider(token=fake_mod.TOKEN).parse_push(body, headers)
    assert r.tracking_stopped


def test_push_reply():
    assert SeventeenTrackProvider.push_reply(True) == (200, "application/json", b'{"code":0}')
    assert SeventeenTrackProvider.push_reply(False)[0] == 500
    assert json.loads(SeventeenTrackProvider.push_reply(False)[2])


def test_register_items_carry_phone_param():
    items = mapping.build_items([TrackRequest("sf", "SF1000000000001", phone_last4="13800001234")], register=True)
    assert items == [{"number": "SF1000000000001", "param": "1234"}]
    assert mapping.build_items([TrackRequest("sf", "SF1", phone_last4="1234")]) == [{"number": "SF1"}]
