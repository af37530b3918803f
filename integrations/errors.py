"""Whole-call failures raised by providers.

Per-number problems (no record yet, bad number, phone needed) are *returned*
as `TrackProblem` outcomes instead; see `integrations.models`.
"""

from __future__ import annotations


class ProviderError(Exception):
    """A provider call failed as a whole; nothing about the numbers is known.

    `partial` holds the outcomes already obtained, in request order, for the
    requests before the failing batch (empty when the first batch failed).
    Messages never contain credentials.
    """

    def __init__(self, message: str, *, provider: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.code = code
        self.partial: list = []


# STYLE.md calls the family `CarrierError`; keep both names.
CarrierError = ProviderError


class AuthError(ProviderError):
    """Bad or missing credentials, bad signature, account disabled."""


class QuotaExhausted(AuthError):
    """The account has no query quota left (needs a human, like AuthError)."""


class RateLimited(ProviderError):
    """Too many requests (or the number is locked); retry after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float, **kw):
        super().__init__(message, **kw)
        self.retry_after = float(retry_after)


class TemporaryError(ProviderError):
    """Timeout, connection error, 5xx, malformed or HTML body: retry later."""


class BadRequest(ProviderError):
    """The provider rejected the request shape (a bug on our side)."""
