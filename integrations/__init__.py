"""越乡寄递 carrier integrations: a plain package (no Flask, SQLAlchemy or shipments).

Start with `get_provider(name, **settings).track([TrackRequest(...)])`.
"""

from .detect import Candidate, detect
from .errors import (AuthError, BadRequest, CarrierError, ProviderError, QuotaExhausted,
                     RateLimited, TemporaryError)
from .base import beijing_to_utc
from .models import (TERMINAL, InvalidNumber, NeedsPhone, NotFoundYet, Status, TrackEvent,
                     TrackProblem, TrackRequest, TrackResult)
from .numbers import normalise_number, phone_last4, s10_valid
from .registry import PROVIDERS, enabled_providers, get_provider, needs_phone

__all__ = [
    "AuthError", "BadRequest", "Candidate", "CarrierError", "InvalidNumber", "NeedsPhone",
    "NotFoundYet", "PROVIDERS", "ProviderError", "QuotaExhausted", "RateLimited", "Status",
    "TERMINAL", "TemporaryError", "TrackEvent", "TrackProblem", "TrackRequest", "TrackResult",
    "beijing_to_utc", "detect", "enabled_providers", "get_provider", "needs_phone",
    "normalise_number", "phone_last4", "s10_valid",
]
