"""Request signatures: lower-case hex HMAC-SHA256 over `timestamp + "." + raw body`."""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The signature of one request: hex HMAC-SHA256(secret, f"{timestamp}." + body)."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, previous_secret: str | None, previous_until: datetime | None,
                     timestamp: int, body: bytes, now: datetime) -> str:
    """X-Yuexiang-Signature: the current secret's signature, then the previous one's during its grace period.

    Receivers compare their own signature with each comma-separated value, so a
    rotation never breaks a receiver that has not switched secrets yet.
    """
    signatures = [sign(secret, timestamp, body)]
    if previous_secret and previous_until and now < previous_until:
        signatures.append(sign(previous_secret, timestamp, body))
    return ", ".join(signatures)


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """Check a received signature header (the receiver's side; used by tests and the README example)."""
    expected = sign(secret, timestamp, body)
    return any(hmac.compare_digest(expected, value.strip()) for value in header.split(","))
