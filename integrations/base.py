"""Provider base: batching, one HTTP session, timeouts, error mapping, time helpers."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, Iterable, Mapping

import requests

from .errors import AuthError, BadRequest, ProviderError, RateLimited, TemporaryError
from .models import TrackProblem, TrackRequest, TrackResult

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")  # China has no DST
DEFAULT_TIMEOUT = 10.0
DEFAULT_RETRY_AFTER = 60.0
USER_AGENT = "yuexiang-track/0.1 (+integrations)"

_BJ_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M")


def beijing_to_utc(value: str) -> datetime:
    """Turn a naive Beijing-time string ("YYYY-MM-DD HH:MM:SS") into an aware UTC datetime."""
    text = str(value).strip()
    for fmt in _BJ_FORMATS:
        try:
            naive = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return naive.replace(tzinfo=BEIJING).astimezone(timezone.utc)
    raise ValueError(f"not a Beijing time: {text!r}")


def utc_to_beijing_str(dt: datetime) -> str:
    """Format an aware datetime as naive Beijing time "YYYY-MM-DD HH:MM:SS"."""
    return dt.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def parse_iso(value: str) -> datetime:
    """Parse an ISO-8601 time with offset or Z into an aware UTC datetime."""
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def get_header(headers: Mapping | None, name: str) -> str | None:
    """Case-insensitive header lookup on any mapping (dict, werkzeug Headers)."""
    if not headers:
        return None
    try:
        value = headers.get(name)
    except Exception:  # pragma: no cover - exotic mappings
        value = None
    if value is not None:
        return value
    lname = name.lower()
    for key in headers.keys():
        if str(key).lower() == lname:
            return headers[key]
    return None


def parse_retry_after(value: str | None, default: float = DEFAULT_RETRY_AFTER) -> float:
    """Read a Retry-After header given in seconds; fall back to `default`."""
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
    return default


class Provider:
    """Base of every provider.

    Subclasses set `code`, `max_batch`, `supports_push` and implement
    `_track_batch(requests) -> list[outcome]`. `track()` returns one outcome per
    request, in order; whole-call failures raise `ProviderError` subclasses with
    `.partial` holding the outcomes of earlier batches.
    """

    code: ClassVar[str] = ""
    max_batch: ClassVar[int] = 1
    supports_push: ClassVar[bool] = False
    default_url: ClassVar[str] = ""

    def __init__(self, *, url: str | None = None, timeout: float | None = None,
                 session: requests.Session | None = None):
        self.url = (url or self.default_url).rstrip("/")
        self.timeout = float(timeout) if timeout is not None else DEFAULT_TIMEOUT
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", USER_AGENT)

    # -- public -------------------------------------------------------------
    def track(self, requests_: list[TrackRequest]) -> list[TrackResult | TrackProblem]:
        """Track the given numbers; one outcome per request, same order."""
        done: list[TrackResult | TrackProblem] = []
        items = list(requests_)
        for start in range(0, len(items), self.max_batch):
            batch = items[start:start + self.max_batch]
            try:
                outcomes = self._track_batch(batch)
            except ProviderError as exc:
                exc.provider = exc.provider or self.code
                exc.partial = list(done)
                raise
            if len(outcomes) != len(batch):  # pragma: no cover - programming error
                raise ProviderError(f"{self.code}: {len(outcomes)} outcomes for {len(batch)} requests")
            done.extend(outcomes)
        return done

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    def __repr__(self) -> str:  # never show credentials
        return f"<{type(self).__name__} url={self.url!r}>"

    # -- for subclasses -----------------------------------------------------
    def _track_batch(self, batch: list[TrackRequest]) -> list[TrackResult | TrackProblem]:
        """One request per number (providers with batch queries override this)."""
        out = []
        for req in batch:
            outcome = self._precheck(req)
            if outcome is None:
                try:
                    outcome = self._query_one(req)
                except ProviderError as exc:
                    # Parsers quote the provider's message, which may echo a credential.
                    exc.message = self._scrub(exc.message)
                    exc.args = (exc.message,)
                    raise
            out.append(outcome)
        return out

    def _precheck(self, req: TrackRequest) -> TrackProblem | None:
        """A problem known without asking (unknown carrier, missing phone digits), or None."""
        return None

    def _query_one(self, req: TrackRequest) -> TrackResult | TrackProblem:
        raise NotImplementedError

    def _secrets(self) -> Iterable[str]:
        """Credentials that must never appear in an error message."""
        return ()

    def _scrub(self, text: str) -> str:
        for secret in self._secrets():
            if secret:
                text = text.replace(secret, "***")
        return text

    def _error(self, cls: type[ProviderError], message: str, **kw: Any) -> ProviderError:
        return cls(self._scrub(f"{self.code}: {message}"), provider=self.code, **kw)

    def _post(self, url: str, *, data: Any = None, json_body: Any = None,
              headers: Mapping[str, str] | None = None) -> Any:
        """POST and return the decoded JSON body, mapping transport failures to errors."""
        try:
            if json_body is not None:
                body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
                hdrs = {"Content-Type": "application/json", **(headers or {})}
                resp = self.session.post(url, data=body, headers=hdrs, timeout=self.timeout)
            else:
                resp = self.session.post(url, data=data, headers=dict(headers or {}), timeout=self.timeout)
        except requests.Timeout:
            raise self._error(TemporaryError, f"timeout after {self.timeout:g}s") from None
        except requests.ConnectionError as exc:
            raise self._error(TemporaryError, f"connection error ({type(exc).__name__})") from None
        except requests.RequestException as exc:
            raise self._error(TemporaryError, f"request failed ({type(exc).__name__})") from None
        status = resp.status_code
        if status == 429:
            raise self._error(RateLimited, "HTTP 429 Too Many Requests",
                              retry_after=parse_retry_after(resp.headers.get("Retry-After")))
        if status in (401, 403):
            raise self._error(AuthError, f"HTTP {status}")
        if status >= 500:
            raise self._error(TemporaryError, f"HTTP {status}")
        if status >= 400:
            raise self._error(BadRequest, f"HTTP {status}")
        # All three aggregators speak UTF-8; some label JSON as text/html, so judge the body.
        text = resp.content.decode("utf-8", errors="replace")
        if re.match(r"\s*<", text):
            raise self._error(TemporaryError, f"HTML instead of JSON (HTTP {status})")
        try:
            return json.loads(text)
        except ValueError:
            raise self._error(TemporaryError, f"malformed JSON (HTTP {status})") from None
