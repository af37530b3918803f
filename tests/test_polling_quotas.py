"""Quotas (memory or Redis) and the circuit breaker's shared state."""
import os
import random
import threading
import time
import uuid

import pytest

from shipments.config import DEFAULTS
from shipments.services.quotas import CircuitBreaker, ProviderQuotas, _MemoryKV, _RedisKV, redis_client

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/2")  # db 2: the poller's


def redis_or_skip():
    try:
        client = redis_client(REDIS_URL)
        client.ping()
        return client
    except Exception:  # noqa: BLE001 - any connection problem means "no Redis here"
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")


def peak(times, window=1.0):
    times, best, start = sorted(times), 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def hammer(quotas_list, provider, threads, calls):
    """Take slots from several limiter instances (as several processes would) in parallel.

    Returns the send times as the quota's window counted them: a timestamp taken by
    the test thread after the call returns would add the machine's scheduling delay
    (under load, two permits more than a second apart could be stamped less than a second apart)."""
    stamps, lock = [], threading.Lock()

    def worker(quotas):
        for _ in range(calls):
            permit = quotas.permit(provider)
            assert permit
            sent = quotas.sent(permit)
            with lock:
                stamps.append(sent)
    pool = [threading.Thread(target=worker, args=(quotas_list[i % len(quotas_list)],)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return stamps


def test_memory_quota_never_exceeds_rate_in_any_second():
    quotas = ProviderQuotas({"kdniao": 10}, {}, namespace=uuid.uuid4().hex)
    stamps = hammer([quotas], "kdniao", threads=6, calls=4)  # 24 calls at 10/s
    assert peak(stamps) <= 10
    assert stamps and max(stamps) - min(stamps) >= 2.0


def test_redis_quota_is_shared_by_separate_limiters():
    redis_or_skip()
    namespace = uuid.uuid4().hex
    two = [ProviderQuotas({"17track": 5}, {}, redis_url=REDIS_URL, namespace=namespace) for _ in range(2)]
    stamps = hammer(two, "17track", threads=4, calls=3)  # 12 calls at 5/s through two "processes"
    assert peak(stamps) <= 5


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_a_request_written_late_after_its_permit_is_counted_when_it_left(store):
    """Under load a thread can lose the CPU between its permit and its write. The quota counts the
    time the request was written, so the carrier's clock never sees more than Q in one second
    (with the permit's own time counted, a 250 ms delay let Q+1 through)."""
    redis_url = REDIS_URL if store == "redis" else None
    if redis_url:
        redis_or_skip()
    quotas = ProviderQuotas({"kdniao": 5}, {}, redis_url=redis_url, namespace=uuid.uuid4().hex,
                            slack=DEFAULTS["POLL_RATE_SLACK"])
    written, lock = [], threading.Lock()

    def worker(seed):
        delays = random.Random(seed)
        for _ in range(6):
            permit = quotas.permit("kdniao")
            time.sleep(delays.choice([0.0, 0.0, 0.25]))  # descheduled between permit and write
            at = time.time()  # the write
            with lock:
                written.append(at)
            quotas.sent(permit, at)
    pool = [threading.Thread(target=worker, args=(seed,)) for seed in range(4)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert len(written) == 24 and peak(written) <= 5


def test_a_permit_counts_while_in_flight_and_is_forgotten_only_after_its_ttl():
    quotas = ProviderQuotas({"kdniao": 1}, {}, namespace=uuid.uuid4().hex)
    quotas.IN_FLIGHT_TTL = 1.5
    first = quotas.permit("kdniao")
    assert first and first.sent_at is None
    # Never logged as sent (its worker died mid-call): it holds the one slot until its TTL, not longer.
    assert quotas.permit("kdniao", deadline=time.monotonic() + 1.0) is None
    assert quotas.permit("kdniao", deadline=time.monotonic() + 2.0) is not None


def test_acquire_gives_up_at_deadline_or_stop():
    quotas = ProviderQuotas({"kdniao": 1}, {}, namespace=uuid.uuid4().hex)
    assert quotas.acquire("kdniao") is True
    assert quotas.acquire("kdniao", deadline=time.monotonic() + 0.1) is False
    stop = threading.Event()
    stop.set()
    assert quotas.acquire("kdniao", stop=stop) is False
    assert quotas.acquire("sandbox") is True  # no quota configured


def test_batch_size_never_above_the_providers_maximum():
    quotas = ProviderQuotas({}, {"17track": 100, "kdniao": 5}, namespace="x")
    assert quotas.batch_size("17track", 40) == 40
    assert quotas.batch_size("kdniao", 30) == 5
    assert quotas.batch_size("sandbox", 100) == 100


@pytest.fixture(params=["memory", "redis"])
def breaker_pair(request):
    """Two breakers over one store, as two worker processes would see it."""
    namespace = uuid.uuid4().hex
    if request.param == "redis":
        kv = _RedisKV(redis_or_skip())
        stores = (kv, _RedisKV(redis_client(REDIS_URL)))
    else:
        kv = _MemoryKV()
        stores = (kv, kv)
    return tuple(CircuitBreaker(s, threshold=3, open_seconds=0.3, probe_seconds=5, namespace=namespace)
                 for s in stores)


def test_breaker_opens_probes_once_and_closes(breaker_pair):
    one, other = breaker_pair
    assert one.allow("kdniao") and one.state("kdniao") == "closed"
    assert one.record_failure("kdniao", "HTTP 500") is False
    assert other.record_failure("kdniao", "HTTP 500") is False
    assert one.record_failure("kdniao", "HTTP 500") is True  # third consecutive failure, any process
    assert other.state("kdniao") == "open" and not other.allow("kdniao")
    assert one.allow("17track")  # other providers are not affected
    time.sleep(0.35)
    assert other.state("kdniao") == "half_open"
    assert [one.allow("kdniao"), other.allow("kdniao")].count(True) == 1  # a single probe
    other.record_failure("kdniao", "timeout")  # the probe failed: open again
    assert one.state("kdniao") == "open"
    time.sleep(0.35)
    assert one.allow("kdniao")
    one.record_success("kdniao")
    assert other.state("kdniao") == "closed" and other.allow("kdniao")


def test_success_resets_the_failure_count(breaker_pair):
    one, _ = breaker_pair
    one.record_failure("kdniao")
    one.record_failure("kdniao")
    one.record_success("kdniao")
    assert one.record_failure("kdniao") is False and one.state("kdniao") == "closed"


def test_poll_threads_follow_the_enabled_quotas():
    """Enough calls in flight to keep each quota busy (Q x expected call time x 1.5), within bounds."""
    from shipments.services.polling import poll_threads

    config = {**DEFAULTS, "POLL_RATE": {"kuaidi100": 50, "kdniao": 10, "17track": 3}, "POLL_THREADS": 8,
              "POLL_THREADS_MAX": 32, "POLL_CALL_SECONDS": 0.3}
    assert poll_threads(config, {"kuaidi100", "sandbox"}) == 23  # 50 x 0.3 x 1.5 = 22.5
    assert poll_threads(config, {"kuaidi100", "kdniao"}) == 28  # + 10 x 0.3 x 1.5 = 4.5
    assert poll_threads(config, {"17track"}) == 8  # 2 would do: the floor
    assert poll_threads({**config, "POLL_RATE": {"kuaidi100": 500}}, {"kuaidi100"}) == 32  # the ceiling
    assert poll_threads({**config, "POLL_RATE": {}}, {"kuaidi100"}) == 8
