"""The same parcel stories and failures through every aggregator's client and fake."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from integrations import (AuthError, InvalidNumber, NeedsPhone, NotFoundYet, ProviderError, RateLimited,
                          Status, TemporaryError, TrackResult, needs_phone)
from tests.fakes.scenarios import TRANSFER_NUMBER


def one(h, scenario, **kw):
    number = kw.pop("number", None) or h.number(7)
    h.fake.scenarios[number] = scenario
    [outcome] = h.provider.track([h.request(number, **kw)])
    return outcome


def test_in_transit(harness):
    r = one(harness, "in_transit")
    assert isinstance(r, TrackResult)
    assert r.status is Status.IN_TRANSIT
    assert not r.status.is_terminal
    assert len(r.events) == 4
    assert r.events[0].status is Status.INFO_RECEIVED
    # 2026-06-01 11:00 Beijing (pickup) = 03:00 UTC
    assert r.picked_up_at == datetime(2026, 6, 1, 3, 0, tzinfo=timezone.utc)
    assert r.delivered_at is None and not r.at_station and r.transferred_to is None
    assert r.raw  # raw payload kept


def test_delivered_to_recipient(harness):
    r = one(harness, "delivered")
    assert r.status is Status.DELIVERED and r.status.is_terminal
    assert r.delivered_at == datetime(2026, 6, 2, 4, 0, tzinfo=timezone.utc)  # +28 h from 08:00 BJ
    assert r.at_station is False
    assert r.events[-1].status is Status.DELIVERED


def test_held_at_station(harness):
    r = one(harness, "station")
    assert r.status is Status.AVAILABLE_FOR_PICKUP
    assert r.at_station is True and r.delivered_at is None


def test_collected_from_station(harness):
    r = one(harness, "collected")
    assert r.status is Status.DELIVERED
    assert r.at_station is True
    assert r.delivered_at == datetime(2026, 6, 2, 16, 0, tzinfo=timezone.utc)  # 06-03 00:00 Beijing


def test_transferred_to_post(harness):
    r = one(harness, "transferred")
    assert r.status is Status.IN_TRANSIT
    assert r.transferred_to == ("chinapost", TRANSFER_NUMBER)


def test_returned(harness):
    r = one(harness, "returned")
    assert r.status is Status.RETURNED and r.status.is_terminal


def test_exception(harness):
    r = one(harness, "exception")
    assert r.status is Status.EXCEPTION


def test_no_record_yet(harness):
    r = one(harness, "not_found")
    assert isinstance(r, NotFoundYet)
    assert r.request.number == harness.number(7)


def test_bad_number(harness):
    assert isinstance(one(harness, "bad_number"), InvalidNumber)


def test_phone_required(harness):
    h = harness
    if h.phone_carrier is None:
        # 17TRACK documents no phone rule; its nearest answer (carrier undetectable) is per number.
        assert not needs_phone("sf", "17track")
        assert isinstance(one(h, "phone_required"), InvalidNumber)
        return
    number = "SF1000000000001"
    h.fake.scenarios[number] = "delivered"
    assert needs_phone(h.phone_carrier, h.name)
    [missing] = h.provider.track([h.request(number, carrier="sf")])
    assert isinstance(missing, NeedsPhone)
    assert h.fake.counts[number] == 0  # held back without calling the provider
    [wrong] = h.provider.track([h.request(number, carrier="sf", phone_last4="9999")])
    assert isinstance(wrong, NeedsPhone)
    [ok] = h.provider.track([h.request(number, carrier="sf", phone_last4="1234")])
    assert isinstance(ok, TrackResult) and ok.status is Status.DELIVERED


def test_bad_credentials(harness):
    h = harness
    secret = {"kuaidi100": "key", "kdniao": "app_key", "17track": "token"}[h.name]
    wrong = h.make(**{secret: "WRONG-SECRET-123"})
    with pytest.raises(AuthError) as exc:
        wrong.track([h.request(h.number())])
    assert "WRONG-SECRET-123" not in str(exc.value)


def test_locked_or_rate_limited(harness):
    with pytest.raises(RateLimited) as exc:
        one(harness, "locked")
    assert exc.value.retry_after > 0


def test_http_429_is_rate_limited(harness):
    harness.fake.mode = "rate_limited"
    with pytest.raises(RateLimited) as exc:
        harness.provider.track([harness.request(harness.number())])
    assert exc.value.retry_after == 2.0  # from Retry-After


@pytest.mark.parametrize("behaviour", ["server_error", "bad_gateway", "timeout", "malformed", "html"])
def test_transport_failures_are_temporary(harness, behaviour):
    harness.fake.mode = behaviour
    with pytest.raises(TemporaryError) as exc:
        harness.provider.track([harness.request(harness.number())])
    for secret in ("kDtestKey2025SX", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "TEST17TOKENSHAOXING"):
        assert secret not in str(exc.value)


def test_per_number_scenarios_mix_in_one_call(harness):
    h = harness
    numbers = [h.number(i) for i in range(1, 5)]
    for n, s in zip(numbers, ["delivered", "not_found", "station", "bad_number"]):
        h.fake.scenarios[n] = s
    out = h.provider.track([h.request(n) for n in numbers])
    assert [type(o).__name__ for o in out] == ["TrackResult", "NotFoundYet", "TrackResult", "InvalidNumber"]
    assert [o.number if isinstance(o, TrackResult) else o.request.number for o in out] == numbers


def test_failure_keeps_partial_outcomes(harness):
    h = harness
    n = h.provider.max_batch  # the first batch succeeds, the second one fails
    numbers = [h.number(i) for i in range(1, n + 2)]
    h.fake.scenarios[numbers[-1]] = "server_error"
    with pytest.raises(ProviderError) as exc:
        h.provider.track([h.request(x) for x in numbers])
    assert [o.number for o in exc.value.partial] == numbers[:n]


def test_connection_reuse_one_session(harness):
    h = harness
    for i in range(3):
        h.provider.track([h.request(h.number(i + 1))])
    assert len(h.fake.client_ids) >= 3
    assert set(h.fake.client_ids) == {"1"}  # every call came from the provider's one session


def test_parsing_twice_gives_same_events(harness):
    a = one(harness, "delivered")
    b = one(harness, "delivered")
    assert a.events == b.events and a.status == b.status


def test_counts_requests_per_number(harness):
    h = harness
    for _ in range(3):
        one(h, "in_transit", number=h.number(42))
    assert h.fake.counts[h.number(42)] == 3


@pytest.mark.parametrize("status, error", [(503, TemporaryError), (401, AuthError), (403, AuthError)])
def test_forced_http_status(harness, status, error):
    harness.fake.force_status = status
    with pytest.raises(error):
        harness.provider.track([harness.request(harness.number())])
    harness.fake.force_status = None
    assert isinstance(harness.provider.track([harness.request(harness.number())])[0], TrackResult)


def test_latency_knob(harness):
    import time
    harness.fake.latency = 0.15
    start = time.perf_counter()
    harness.provider.track([harness.request(harness.number())])
    assert time.perf_counter() - start >= 0.15
