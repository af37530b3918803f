"""The sandbox carrier: deterministic lives, shares, the clock, transfers."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from integrations import InvalidNumber, NotFoundYet, Status, TrackRequest, TrackResult, detect, get_provider
from integrations.sandbox import make_number, timeline, transfer_number

REG = datetime(2026, 6, 1, 1, 0, tzinfo=timezone.utc)
N = 2000


@pytest.fixture(scope="module")
def lives():
    return {make_number(i): timeline(make_number(i), REG) for i in range(N)}


def provider_at(now, **knobs):
    return get_provider("sandbox", clock=lambda: now, **knobs)


def test_make_number():
    assert make_number(5) == "SBX0000000005"
    with pytest.raises(ValueError):
        make_number(10 ** 10)


def test_deterministic_per_number():
    n = make_number(123)
    assert timeline(n, REG) == timeline(n, REG)
    later = timeline(n, REG + timedelta(days=3))
    assert [e.description for e in later] == [e.description for e in timeline(n, REG)]
    assert timeline(make_number(124), REG) != timeline(n, REG)
    now = REG + timedelta(days=2)
    a = provider_at(now).track([TrackRequest("sandbox", n, registered_at=REG)])
    b = provider_at(now).track([TrackRequest("sandbox", n, registered_at=REG)])
    assert a == b


def test_lives_are_realistic(lives):
    late = 0
    for number, events in lives.items():
        times = [e.occurred_at for e in events]
        assert times == sorted(times) and times[0] > REG
        assert all(t.tzinfo is timezone.utc for t in times)
        assert events[0].status is Status.INFO_RECEIVED and events[1].substatus == "PICKED_UP"
        assert "已揽收" in events[1].description and events[1].description.startswith("【绍兴市】")
        assert any("转运中心" in e.description for e in events)
        assert not any(re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", e.description) for e in events)  # no phone numbers
        late += events[1].occurred_at - REG > timedelta(hours=24)
    assert 0.10 < late / N < 0.20


def test_shares_roughly_hold(lives):
    codes = Counter()
    for events in lives.values():
        for code in {e.raw_code for e in events}:
            codes[code] += 1
    share = {k: v / N for k, v in codes.items()}
    assert 0.20 < share["STATION"] < 0.30
    assert 0.02 < share["EXCEPTION"] < 0.065
    assert 0.015 < share["TRANSFER"] < 0.05
    assert 0.008 < share["RETURNED"] < 0.035
    finals = Counter(events[-1].status for events in lives.values())
    assert finals[Status.DELIVERED] / N > 0.9
    assert finals[Status.EXCEPTION] > 0  # some exceptions never resolve
    assert share.get("RESOLVED", 0) > 0  # and some do


def test_knobs_move_the_shares():
    numbers = [make_number(i) for i in range(200)]
    assert all(any(e.raw_code == "STATION" for e in timeline(n, REG, station_share=1.0, return_share=0.0,
                                                               exception_share=0.0)) for n in numbers)
    assert not any(any(e.raw_code in ("EXCEPTION", "TRANSFER") for e in timeline(
        n, REG, exception_share=0.0, transfer_share=0.0)) for n in numbers)
    with pytest.raises(TypeError):
        timeline(numbers[0], REG, nonsense=1)


def test_events_never_pass_the_clock(lives):
    numbers = list(lives)[:300]
    for hours in (0.01, 3, 20, 40, 80, 400):
        now = REG + timedelta(hours=hours)
        out = provider_at(now).track([TrackRequest("sandbox", n, registered_at=REG) for n in numbers])
        for n, o in zip(numbers, out):
            visible = [e for e in lives[n] if e.occurred_at <= now]
            if not visible:
                assert isinstance(o, NotFoundYet)
                continue
            assert isinstance(o, TrackResult)
            assert all(e.occurred_at <= now for e in o.events)
            assert o.events == tuple(visible) and o.status is visible[-1].status


def test_invalid_requests():
    p = provider_at(REG)
    a, b, c = p.track([TrackRequest("sandbox", "SBX123", registered_at=REG),
                       TrackRequest("sandbox", make_number(1)),
                       TrackRequest("sandbox", "YT1000000000001", registered_at=REG)])
    assert isinstance(a, InvalidNumber) and isinstance(b, InvalidNumber) and isinstance(c, InvalidNumber)


def test_transfer_sets_transferred_to(lives):
    n = next(n for n, evs in lives.items() if any(e.raw_code == "TRANSFER" for e in evs))
    [r] = provider_at(REG + timedelta(days=30)).track([TrackRequest("sandbox", n, registered_at=REG)])
    assert r.transferred_to == ("chinapost", transfer_number(n))
    assert detect(r.transferred_to[1])[0].carrier == "chinapost"


def test_station_and_delivery_derivations(lives):
    n = next(n for n, evs in lives.items() if evs[-1].raw_code == "COLLECTED")
    [r] = provider_at(REG + timedelta(days=30)).track([TrackRequest("sandbox", n, registered_at=REG)])
    assert r.status is Status.DELIVERED and r.at_station and r.delivered_at == r.events[-1].occurred_at
    assert r.picked_up_at == r.events[1].occurred_at
    m = next(n for n, evs in lives.items() if evs[-1].raw_code == "SIGNED")
    [s] = provider_at(REG + timedelta(days=30)).track([TrackRequest("sandbox", m, registered_at=REG)])
    assert s.status is Status.DELIVERED and not s.at_station
