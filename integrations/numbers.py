"""Tracking-number normalisation and the UPU S10 check digit (DOMAIN.md §4)."""

from __future__ import annotations

import re
import unicodedata

_DROP = re.compile(r"[\s\-_\u2010-\u2015\u2212]+")
S10_RE = re.compile(r"^([A-Z]{2})(\d{8})(\d)([A-Z]{2})$")
_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)


def normalise_number(raw: str) -> str:
    """Return the canonical form of a tracking number (the app's one normaliser).

    Strips, converts full-width to half-width (NFKC), drops spaces and dashes,
    upper-cases.
    """
    if raw is None:
        return ""
    text = unicodedata.normalize("NFKC", str(raw))
    text = _DROP.sub("", text.strip())
    return text.upper()


def s10_check_digit(serial: str) -> int:
    """Return the UPU S10 check digit of an 8-digit serial."""
    if len(serial) != 8 or not serial.isdigit():
        raise ValueError("S10 serial must be 8 digits")
    total = sum(int(d) * w for d, w in zip(serial, _S10_WEIGHTS))
    check = 11 - total % 11
    if check == 10:
        return 0
    if check == 11:
        return 5
    return check


def is_s10_shaped(number: str) -> bool:
    """Tell whether a (normalised) number has the S10 shape AA12345678 9 CC."""
    return bool(S10_RE.match(number))


def s10_valid(number: str) -> bool:
    """Tell whether a number is a UPU S10 number with a correct check digit."""
    m = S10_RE.match(normalise_number(number))
    if not m:
        return False
    return s10_check_digit(m.group(2)) == int(m.group(3))


def phone_last4(raw: str | None) -> str | None:
    """Return the last 4 digits of a phone (also of a 隐私号 "1xxxxxxxxxx-1234"), or None."""
    if not raw:
        return None
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", str(raw)))
    return digits[-4:] if len(digits) >= 4 else None
