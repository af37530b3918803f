"""Carrier quotas shared by every poll process, and the per-provider circuit breaker.

A quota of Q requests a second is a moving window over the times requests
were *sent*: never more than Q in any window of 1 + POLL_RATE_SLACK seconds
(a log of times: a Redis sorted set when REDIS_URL is set, so that all
workers on all machines share one budget, this process's memory otherwise),
and permits paced (1 + slack)/Q apart. A permit is taken right before a
request goes out and stays "in flight" (counted as sending now) until the
request has been written to the socket; then the time after the write is
logged as its send time. Later permits are counted against those times, so
a thread that lost the CPU, or the GIL, between its permit and its write
cannot bunch requests at the carrier: any Q+1 requests that reached the
socket inside one second would need the last of them permitted while Q
others were logged inside the window, which the check refuses. (Before,
the permit's own time was logged; under two CPU hogs the carrier's clock
saw Q+1 when one request's permit-to-write delay exceeded the slack.) The
slack now only covers what happens after our write: network delay varying
on the way to the carrier. (The `limits` library's moving window, used at
first, has whole seconds only.)

The circuit breaker keeps its state in the same place, for the same reason:
with Redis configured every worker sees a provider's outage at once and only
one of them probes; without Redis the deployment is the embedded single
process, where an in-process breaker is exact. (A database table would work
too, but would add a write per failure to the hot path and a migration, and
a deployment with many workers already needs Redis for the global quotas.)
"""
from __future__ import annotations

import logging
import threading
import time

import os
from collections import deque

log = logging.getLogger(__name__)

_shared: dict[tuple, object] = {}
_shared_lock = threading.Lock()


def _shared_instance(key: tuple, factory):
    # One limiter/breaker per process and configuration: in-memory state must be
    # shared by every poll cycle of the process, not rebuilt per cycle.
    with _shared_lock:
        if key not in _shared:
            _shared[key] = factory()
        return _shared[key]


def redis_client(url: str):
    """A Redis client for `url` (imported lazily: Redis is optional)."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def redis_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "Redis is unreachable or failing"."""
    import redis

    return (redis.exceptions.RedisError, OSError)


class _Fallback:
    """Redis first; while it fails, this process's memory, with a warning (at most once a minute).

    Redis is optional in the fast path: losing it must degrade sharing
    between processes, never stop lookups or polling.
    """

    RETRY_SECONDS = 30.0

    def __init__(self, what: str):
        self.what = what
        self.down_until = 0.0
        self._warned_at = -1e9

    @property
    def down(self) -> bool:
        return time.monotonic() < self.down_until

    def failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        self.down_until = now + self.RETRY_SECONDS
        if now - self._warned_at > 60:
            self._warned_at = now
            log.warning("Redis unreachable (%s): %s fall back to this process's memory for %ss",
                        exc.__class__.__name__, self.what, int(self.RETRY_SECONDS))


# Atomically hand out the next request slot of a provider, 1/Q apart, to every process.
# Times travel as strings: Redis turns Lua numbers into integers.
_PACE_LUA = """
local now = tonumber(ARGV[1])
local gap = tonumber(ARGV[2])
local latest = tonumber(ARGV[3])
local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
if latest >= 0 and slot > latest then return '-1' end
redis.call('SET', KEYS[1], tostring(slot + gap), 'PX', 60000)
return tostring(slot)
"""


# A permit if fewer than LIMIT requests were sent in the window (now - WINDOW, now] or are in
# flight (permitted, not yet written; forgotten after TTL seconds, should a worker die in between);
# else how long to wait. KEYS[1]: send times, KEYS[2]: permits in flight. Entries newer than `now`
# (another process's clock or order) count too.
_WINDOW_LUA = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local ttl = tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tostring(now - window))
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tostring(now - ttl))
if redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2]) < limit then
  redis.call('ZADD', KEYS[2], ARGV[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[2], math.ceil(ttl * 1000) + 1000)
  return '0'
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if oldest[2] == nil then return ARGV[6] end
return tostring(math.max(0.001, tonumber(oldest[2]) + window - now))
"""

# The request of permit ARGV[2] was written at ARGV[1]: log it as sent then (whether or not
# it was still in flight: a late confirmation must never make room).
_SENT_LUA = """
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[3]) * 1000) + 1000)
return 1
"""

# How long to wait for a slot when all of them are in flight (no send time to count from yet).
IN_FLIGHT_POLL = 0.005


class Permit:
    """One request's slot: in flight from `granted_at` until `ProviderQuotas.sent()` logs its send time."""

    __slots__ = ("quotas", "provider", "key", "member", "granted_at", "window", "sent_at")

    def __init__(self, quotas, provider, key, member, granted_at, window):
        self.quotas, self.provider, self.key, self.member = quotas, provider, key, member
        self.granted_at, self.window = granted_at, window
        self.sent_at: float | None = None


class _MemoryWindow:
    """The window scripts' work for one process (no Redis configured, or Redis down)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._sent: dict[str, deque] = {}
        self._in_flight: dict[str, dict[str, float]] = {}

    def take(self, key: str, window: float, limit: int, member: str, ttl: float) -> tuple[float, float]:
        """(0, permit time) for a permit, else (seconds to wait, 0)."""
        with self._lock:
            now = time.time()
            sent = self._sent.setdefault(key, deque())
            while sent and sent[0] <= now - window:
                sent.popleft()
            flying = self._in_flight.setdefault(key, {})
            for stale in [m for m, at in flying.items() if at < now - ttl]:
                del flying[stale]
            if len(sent) + len(flying) < limit:
                flying[member] = now
                return 0.0, now
            return (max(0.001, sent[0] + window - now) if sent else IN_FLIGHT_POLL), 0.0

    def sent(self, key: str, member: str, at: float, window: float) -> None:
        with self._lock:
            self._in_flight.get(key, {}).pop(member, None)
            log = self._sent.setdefault(key, deque())
            log.append(at)
            if len(log) > 1 and log[-2] > at:  # kept in order: the window drops from the left
                self._sent[key] = deque(sorted(log))


class _RedisWindow:
    def __init__(self, client):
        self._take = client.register_script(_WINDOW_LUA)
        self._sent = client.register_script(_SENT_LUA)

    def take(self, key: str, window: float, limit: int, member: str, ttl: float) -> tuple[float, float]:
        now = time.time()
        wait = float(self._take(keys=[key, key + ":in-flight"],
                                args=[repr(now), repr(window), limit, member, repr(ttl), repr(IN_FLIGHT_POLL)]))
        return (wait, 0.0) if wait > 0 else (0.0, now)

    def sent(self, key: str, member: str, at: float, window: float) -> None:
        self._sent(keys=[key, key + ":in-flight"], args=[repr(at), member, repr(window)])


class ProviderQuotas:
    """Requests/second per provider, enforced across processes; numbers per request."""

    # Extra wait after the window frees up, so the retry does not arrive a hair early.
    MARGIN = 0.010
    # A permit never logged as sent (its worker died between permit and write) holds its slot this long:
    # longer than any write can take (connect and write are bounded by POLL_HTTP_TIMEOUT).
    IN_FLIGHT_TTL = 60.0

    def __init__(self, rates: dict, batches: dict, *, redis_url: str | None = None, namespace: str = "yx",
                 slack: float = 0.05):
        self.rates = {name: int(rate) for name, rate in rates.items() if rate}
        # Without Redis every process keeps its own budget: half the quota each is the
        # safe reduced pace (a deployment has one worker process, two at most).
        self.local_rates = {name: max(1, rate // 2) for name, rate in self.rates.items()}
        self.local_window = _MemoryWindow()
        self.shared_window = _RedisWindow(redis_client(redis_url)) if redis_url else None
        self.fallback = _Fallback("carrier quotas")
        self.batches = dict(batches)
        self.namespace = namespace
        # The window a quota is counted over, and the pacing: (1 + slack)/Q apart.
        self.window_seconds = 1.0 + float(slack)
        # Local pacing, 1/Q apart: the window alone lets a whole second's quota go out
        # in one burst, and a burst arriving late at the carrier could meet the next
        # one inside its own one-second window.
        self._pace_lock = threading.Lock()
        self._next_slot: dict[str, float] = {}
        # With Redis the pacing is shared too, or N processes would each pace at Q.
        self._pace_script = redis_client(redis_url).register_script(_PACE_LUA) if redis_url else None

    @classmethod
    def from_config(cls, config) -> "ProviderQuotas":
        """The process-wide quotas for this configuration."""
        key = ("quotas", config.get("REDIS_URL"), config["QUOTA_NAMESPACE"], config["POLL_RATE_SLACK"],
               tuple(sorted(config["POLL_RATE"].items())), tuple(sorted(config["POLL_BATCH"].items())))
        return _shared_instance(key, lambda: cls(config["POLL_RATE"], config["POLL_BATCH"],
                                                 redis_url=config.get("REDIS_URL"),
                                                 namespace=config["QUOTA_NAMESPACE"],
                                                 slack=config["POLL_RATE_SLACK"]))

    def batch_size(self, provider: str, max_batch: int) -> int:
        """Numbers per request: the configured size, never above what the provider takes."""
        return max(1, min(int(self.batches.get(provider) or max_batch), max_batch))

    def acquire(self, provider: str, *, deadline: float | None = None,
                stop: threading.Event | None = None) -> bool:
        """Wait for one request slot of `provider`, logged as sent at once; False when `deadline`
        (monotonic) or `stop` came first. Callers that write the request themselves use `permit`."""
        permit = self.permit(provider, deadline=deadline, stop=stop)
        if permit is None:
            return False
        self.sent(permit)
        return True

    def permit(self, provider: str, *, deadline: float | None = None,
               stop: threading.Event | None = None) -> Permit | None:
        """Wait for one request slot of `provider`: a permit in flight until `sent()`, or None when
        `deadline` (monotonic) or `stop` came first."""
        rate = self.rates.get(provider)
        if rate is None:
            return Permit(self, provider, None, None, time.time(), None)  # no quota configured: unlimited
        if self.shared_window is not None and not self.fallback.down:
            try:
                return self._permit(provider, rate, self.shared_window, deadline, stop, shared=True)
            except redis_errors() as exc:
                self.fallback.failed(exc)
        if self.shared_window is not None:  # Redis configured but down: half pace, this process only
            return self._permit(provider, self.local_rates[provider], self.local_window, deadline, stop, shared=False)
        return self._permit(provider, rate, self.local_window, deadline, stop, shared=False)

    def sent(self, permit: Permit, at: float | None = None) -> float:
        """Log the permit's request as written at `at` (default: now, right after the write); that time.

        Call it after the last byte left (an upper bound of the time on the wire, the safe side);
        a second call keeps the first time.
        """
        if permit.sent_at is not None:
            return permit.sent_at
        permit.sent_at = time.time() if at is None else at
        if permit.window is not None:
            try:
                permit.window.sent(permit.key, permit.member, permit.sent_at, self.window_seconds)
            except redis_errors() as exc:  # its in-flight entry holds the slot until IN_FLIGHT_TTL
                self.fallback.failed(exc)
        return permit.sent_at

    def _permit(self, provider, rate, window, deadline, stop, *, shared: bool) -> Permit | None:
        wait = self._reserve_slot(provider, self.window_seconds / rate, deadline, shared=shared)
        if wait is None or (wait > 0 and not self._sleep(wait, stop)):
            return None
        key = f"{self.namespace}:window:{provider}" + ("" if shared else ":local")
        member = f"{time.time()!r}:{os.urandom(6).hex()}"
        while True:
            wait, granted = window.take(key, self.window_seconds, rate, member, self.IN_FLIGHT_TTL)
            if not wait:
                return Permit(self, provider, key, member, granted, window)
            wait += self.MARGIN
            if deadline is not None and time.monotonic() + wait > deadline:
                return None
            if not self._sleep(wait, stop):
                return None

    def _reserve_slot(self, provider: str, gap: float, deadline: float | None, *, shared: bool = True) -> float | None:
        """Reserve the next paced slot; seconds to wait for it, or None when it is past `deadline`."""
        if self._pace_script is not None and shared:
            now = time.time()
            latest = -1.0 if deadline is None else now + (deadline - time.monotonic())
            slot = float(self._pace_script(keys=[f"{self.namespace}:pace:{provider}"],
                                           args=[repr(now), repr(gap), repr(latest)]))
            return None if slot < 0 else max(0.0, slot - now)
        with self._pace_lock:
            now = time.monotonic()
            slot = max(now, self._next_slot.get(provider, 0.0))
            if deadline is not None and slot > deadline:
                return None
            self._next_slot[provider] = slot + gap
            return slot - now

    @staticmethod
    def _sleep(seconds: float, stop: threading.Event | None) -> bool:
        """Sleep; False when `stop` was set meanwhile."""
        if stop is None:
            time.sleep(seconds)
            return True
        return not stop.wait(seconds)


class _MemoryKV:
    """The few Redis operations the breaker needs, for one process."""

    def __init__(self):
        self._data: dict[str, tuple[object, float | None]] = {}
        self._lock = threading.Lock()

    def _live(self, key):
        value = self._data.get(key)
        if value is None:
            return None
        if value[1] is not None and value[1] <= time.monotonic():
            del self._data[key]
            return None
        return value

    def incr(self, key: str, ttl: float) -> int:
        with self._lock:
            value = self._live(key)
            count = (int(value[0]) if value else 0) + 1
            self._data[key] = (count, time.monotonic() + ttl)
            return count

    def set(self, key: str, ttl: float, *, nx: bool = False) -> bool:
        with self._lock:
            if nx and self._live(key) is not None:
                return False
            self._data[key] = (1, time.monotonic() + ttl)
            return True

    def get_int(self, key: str) -> int:
        with self._lock:
            value = self._live(key)
            return int(value[0]) if value else 0

    def exists(self, key: str) -> bool:
        with self._lock:
            return self._live(key) is not None

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._data.pop(key, None)


class _FallbackKV:
    """Redis while it answers, this process's memory while it does not."""

    def __init__(self, redis_kv, memory_kv):
        self.redis_kv, self.memory_kv = redis_kv, memory_kv
        self.fallback = _Fallback("circuit breakers")

    def __getattr__(self, name):
        def call(*args, **kwargs):
            if not self.fallback.down:
                try:
                    return getattr(self.redis_kv, name)(*args, **kwargs)
                except redis_errors() as exc:
                    self.fallback.failed(exc)
            return getattr(self.memory_kv, name)(*args, **kwargs)
        return call


class _RedisKV:
    def __init__(self, client):
        self.client = client

    def incr(self, key, ttl):
        pipe = self.client.pipeline()
        pipe.incr(key)
        pipe.pexpire(key, int(ttl * 1000))
        return int(pipe.execute()[0])

    def set(self, key, ttl, *, nx=False):
        return bool(self.client.set(key, 1, px=max(1, int(ttl * 1000)), nx=nx))

    def get_int(self, key):
        value = self.client.get(key)
        return int(value) if value is not None else 0

    def exists(self, key):
        return bool(self.client.exists(key))

    def delete(self, *keys):
        self.client.delete(*keys)


class CircuitBreaker:
    """Per provider: closed → open after `threshold` consecutive failed calls → after
    `open_seconds` one probe call (half-open) → closed on success, open again on failure."""

    def __init__(self, kv, *, threshold: int, open_seconds: float, probe_seconds: float, namespace: str = "yx"):
        self.kv = kv
        self.threshold = int(threshold)
        self.open_seconds = float(open_seconds)
        self.probe_seconds = float(probe_seconds)
        self.namespace = namespace

    @classmethod
    def from_config(cls, config) -> "CircuitBreaker":
        """The process-wide breaker for this configuration (Redis-backed when REDIS_URL is set)."""
        url = config.get("REDIS_URL")
        key = ("breaker", url, config["QUOTA_NAMESPACE"], config["CIRCUIT_FAILURES"],
               config["CIRCUIT_OPEN_SECONDS"], config["POLL_HTTP_TIMEOUT"])

        def build():
            kv = _FallbackKV(_RedisKV(redis_client(url)), _MemoryKV()) if url else _MemoryKV()
            return cls(kv, threshold=config["CIRCUIT_FAILURES"], open_seconds=config["CIRCUIT_OPEN_SECONDS"],
                       probe_seconds=2 * float(config["POLL_HTTP_TIMEOUT"]) + 5,
                       namespace=config["QUOTA_NAMESPACE"])
        return _shared_instance(key, build)

    def _key(self, provider, part):
        return f"{self.namespace}:circuit:{provider}:{part}"

    def state(self, provider: str) -> str:
        """"closed", "open" or "half_open"."""
        if self.kv.exists(self._key(provider, "open")):
            return "open"
        if self.kv.get_int(self._key(provider, "failures")) >= self.threshold:
            return "half_open"
        return "closed"

    def is_open(self, provider: str) -> bool:
        """True while calls must not be made (a half-open circuit counts as closed here)."""
        return self.kv.exists(self._key(provider, "open"))

    def allow(self, provider: str) -> bool:
        """May a call to `provider` go out now? In half-open state only one caller gets True."""
        state = self.state(provider)
        if state == "closed":
            return True
        if state == "open":
            return False
        return self.kv.set(self._key(provider, "probe"), self.probe_seconds, nx=True)

    def record_success(self, provider: str) -> None:
        """A call succeeded: close the circuit."""
        if self.kv.get_int(self._key(provider, "failures")):
            if self.state(provider) != "closed":
                log.info("circuit for %s closed again", provider)
            self.kv.delete(self._key(provider, "failures"), self._key(provider, "probe"))

    def record_failure(self, provider: str, cause: str = "") -> bool:
        """A call failed as a whole; return True when this opened the circuit."""
        failures = self.kv.incr(self._key(provider, "failures"), ttl=10 * self.open_seconds + 60)
        if failures >= self.threshold:
            # Calls already in flight when it opened fail too: they must not re-open it.
            if not self.kv.set(self._key(provider, "open"), self.open_seconds, nx=True):
                return False
            self.kv.delete(self._key(provider, "probe"))
            log.warning("circuit for %s open for %ss after %d consecutive failures (last: %s)",
                        provider, self.open_seconds, failures, cause)
            return True
        return False

    def reset(self, provider: str) -> None:
        """Forget everything about `provider` (tests, operators)."""
        self.kv.delete(*(self._key(provider, part) for part in ("failures", "open", "probe")))
