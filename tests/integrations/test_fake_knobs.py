"""The fakes' time knobs used by poller tests and the benchmark."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

from integrations import NotFoundYet, Status, TrackResult
from tests.fakes.scenarios import STORIES, mixed_story_for


def test_progressive_reveals_one_scan_per_poll(harness):
    h = harness
    h.fake.progressive = True
    n = h.number(9)
    h.fake.scenarios[n] = "delivered"
    seen = []
    for _ in range(len(STORIES["delivered"]) + 1):
        [o] = h.provider.track([h.request(n)])
        seen.append(len(o.events))
    assert seen == [1, 2, 3, 4, 5, 6, 7, 7]
    assert o.status is Status.DELIVERED


def test_clock_hides_future_scans(harness):
    h = harness
    now = [datetime(2026, 5, 31, tzinfo=timezone.utc)]
    h.fake.clock = lambda: now[0]
    n = h.number(10)
    h.fake.scenarios[n] = "delivered"
    assert isinstance(h.provider.track([h.request(n)])[0], NotFoundYet)
    now[0] = datetime(2026, 6, 1, 4, 0, tzinfo=timezone.utc)  # 12:00 Beijing: ordered + picked up
    [r] = h.provider.track([h.request(n)])
    assert len(r.events) == 2 and r.status is Status.IN_TRANSIT
    h.fake.base_time = datetime(2026, 6, 2, 8, 0)  # stories can start later
    assert isinstance(h.provider.track([h.request(n)])[0], NotFoundYet)
    now[0] += timedelta(days=10)
    assert h.provider.track([h.request(n)])[0].status is Status.DELIVERED


def test_mixed_scenario_is_deterministic_and_varied(harness):
    h = harness
    h.fake.default_scenario = "mixed"
    numbers = [h.number(100 + i) for i in range(12)]
    out = h.provider.track([h.request(n) for n in numbers])
    assert all(isinstance(o, TrackResult) for o in out)
    assert Counter(mixed_story_for(f"YT{i:013d}") for i in range(500)).keys() == STORIES.keys()
