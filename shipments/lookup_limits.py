"""The public lookups' rate limits, checked in one storage round trip.

The limits themselves are unchanged (DOMAIN.md §6): per client address
(`TRACK_RATE_LIMIT`, e.g. 20 a minute and 200 an hour) on every lookup, and
per client address and number (`TRACK_NUMBER_RATE_LIMIT`) where only answers
that found nothing count (wrong digits and unknown numbers alike), so a shared
link can be reloaded and strangers cannot lock a recipient out.

Why not Flask-Limiter's decorator, which did this before: it checks each
limit with its own storage calls and reads each again for the headers, so one
lookup made 5 Redis round trips (6 on a miss), as much time as the lookup's
own SQL. Here the same fixed windows of the `limits` library, under the same
keys (`RateLimitItem.key_for`) in the same storage (Flask-Limiter's, so
`limiter.reset()`, RATELIMIT_ENABLED and the storage URI apply unchanged), are
hit and tested by one Lua script: one round trip, and a second only after a
miss (the per-number deduction, which needs the answer). The answer's
X-RateLimit-* and Retry-After headers come from the script's counts.

Without Redis (memory://) the windows are the library's own in-process ones.
With Redis configured but unreachable, this process falls back to its own
memory for a while, with a warning: lookups never fail because Redis did.
"""
from __future__ import annotations

import functools
import logging
import threading
import time

from flask import after_this_request, current_app, request
from flask_limiter.util import get_remote_address
from limits import parse_many
from limits.storage import MemoryStorage, RedisStorage
from werkzeug.exceptions import TooManyRequests

from shipments.extensions import limiter
from shipments.services.shipments import normalise_number

log = logging.getLogger(__name__)

# KEYS: the windows; ARGV[1]: how many of the first windows to hit (the others are
# only tested); then per window its amount and expiry (s). Like the library's
# fixed window: a hit is INCRBY (EXPIRE when it created the key) and is within
# the limit while the count ≤ amount; a test passes while the count < amount.
# Like Flask-Limiter, evaluation stops at the first breached window (the rest
# are not counted). Returns count and TTL per window (-1, -1 when not reached).
_WINDOWS_LUA = """
local hits = tonumber(ARGV[1])
local out = {}
local breached = false
for i, key in ipairs(KEYS) do
  local amount = tonumber(ARGV[2 * i])
  local count, ttl = -1, -1
  if not breached then
    if i <= hits then
      count = redis.call('INCRBY', key, 1)
      if count == 1 then redis.call('EXPIRE', key, ARGV[2 * i + 1]) end
      breached = count > amount
    else
      count = tonumber(redis.call('GET', key) or '0')
      breached = count >= amount
    end
    ttl = redis.call('TTL', key)
  end
  out[#out + 1] = count
  out[#out + 1] = ttl
end
return out
"""

_FALLBACK_SECONDS = 30.0


class _State:
    """Per process: the registered script per Redis storage, and the fallback while Redis is down."""

    def __init__(self):
        self.lock = threading.Lock()
        self.scripts: dict[int, tuple[object, object]] = {}
        self.down_until = 0.0
        self.warned_at = -1e9
        self._memory = None

    @property
    def memory(self) -> MemoryStorage:
        with self.lock:
            if self._memory is None:  # (it starts a timer thread: not at import)
                self._memory = MemoryStorage()
            return self._memory


_state = _State()


class Window:
    """One fixed window of one request: its limit, key and, once checked, count and reset."""

    __slots__ = ("item", "key", "count", "ttl")

    def __init__(self, item, *identifiers: str):
        self.item = item
        self.key = item.key_for(*identifiers)
        self.count, self.ttl = -1, -1

    @property
    def breached(self) -> bool:
        return self.count > self.item.amount

    def reset_at(self, now: float) -> int:
        return int(now + max(self.ttl, 0)) if self.ttl >= 0 else int(now + self.item.get_expiry())


def _script(storage: RedisStorage):
    with _state.lock:
        known = _state.scripts.get(id(storage))
        if known is None or known[0] is not storage:
            known = _state.scripts[id(storage)] = (storage, storage.get_connection().register_script(_WINDOWS_LUA))
        return known[1]


def _run_in_memory(storage, hits: list[Window], tests: list[Window]) -> None:
    """The script's work with the library's in-process storage."""
    for window in hits + tests:
        if window in hits:
            window.count = storage.incr(window.key, window.item.get_expiry())
        else:
            window.count = storage.get(window.key)
            if window.count >= window.item.amount:  # this lookup would be one too many
                window.count = window.item.amount + 1
        window.ttl = max(0, int(storage.get_expiry(window.key) - time.time()))
        if window.breached:
            return


def _run(hits: list[Window], tests: list[Window]) -> None:
    """Hit `hits`, test `tests`, in one round trip where the storage is Redis."""
    storage = limiter.storage
    if isinstance(storage, RedisStorage) and time.monotonic() >= _state.down_until:
        windows = hits + tests
        try:
            out = _script(storage)(keys=[storage.prefixed_key(w.key) for w in windows],
                                   args=[len(hits), *(v for w in windows for v in (w.item.amount, w.item.get_expiry()))])
        except storage.base_exceptions as exc:
            now = time.monotonic()
            _state.down_until = now + _FALLBACK_SECONDS
            if now - _state.warned_at > 60:
                _state.warned_at = now
                log.warning("Rate limit storage unreachable (%s): public lookups are limited in this process's "
                            "memory for %ss", exc.__class__.__name__, int(_FALLBACK_SECONDS))
        else:
            for i, window in enumerate(windows):
                window.count, window.ttl = int(out[2 * i]), int(out[2 * i + 1])
            for window in tests:  # a tested window at its amount refuses this lookup
                if window.count >= window.item.amount:
                    window.count = window.item.amount + 1
            return
    _run_in_memory(storage if not isinstance(storage, RedisStorage) else _state.memory, hits, tests)


@functools.lru_cache(maxsize=16)
def _parsed(text: str) -> tuple:
    return tuple(sorted(parse_many(text)))  # shortest window first, as Flask-Limiter orders them


def _limits(config_key: str) -> tuple:
    return _parsed(current_app.config[config_key])


def lookup_limited(scope: str, number_methods: tuple[str, ...], *, only_misses: bool = True):
    """Decorate a public lookup view taking `number`: the client's limits on every call, the
    per-number limit on `number_methods`, counted when the answer is 404 (or always)."""

    def decorator(view):
        @functools.wraps(view)
        def limited(*args, **kwargs):
            if not limiter.enabled:
                return view(*args, **kwargs)
            address = get_remote_address()
            hits = [Window(item, address, scope) for item in _limits("TRACK_RATE_LIMIT")]
            tests = []
            if request.method in number_methods:
                number = normalise_number(kwargs.get("number") or "")
                windows = [Window(item, f"{scope}-number", address, number)
                           for item in _limits("TRACK_NUMBER_RATE_LIMIT")]
                if only_misses:
                    tests = windows
                else:
                    hits += windows
            _run(hits, tests)
            now = time.time()
            breached = next((w for w in hits + tests if w.breached), None)
            shown = breached or (hits[0] if hits else None)

            @after_this_request
            def finish(response):
                if tests and response.status_code == 404:
                    _run(list(tests), [])  # a miss counts against the number (second round trip)
                if shown is not None and current_app.config.get("RATELIMIT_HEADERS_ENABLED"):
                    response.headers["X-RateLimit-Limit"] = str(shown.item.amount)
                    response.headers["X-RateLimit-Remaining"] = str(max(0, shown.item.amount - max(shown.count, 0)))
                    response.headers["X-RateLimit-Reset"] = str(shown.reset_at(now))
                return response

            if breached is not None:
                log.info("ratelimit %s exceeded at %s", breached.item, scope)
                raise TooManyRequests(description=str(breached.item),
                                      retry_after=max(1, breached.reset_at(now) - int(now)))
            return view(*args, **kwargs)

        return limited

    return decorator
