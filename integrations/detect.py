"""Rank candidate carriers for a tracking number (DOMAIN.md §4).

Detection only ranks. Legacy shapes (12-digit SF and ZTO numbers) rank with
a low confidence, so the user is asked to choose; S10-shaped numbers with a
wrong check digit are no postal number; a valid S10 number of the EMS
service (E…) is EMS.
"""

from __future__ import annotations

from dataclasses import dataclass

from .carriers import CARRIERS
from .numbers import is_s10_shaped, normalise_number, s10_valid


@dataclass(frozen=True)
class Candidate:
    carrier: str
    confidence: float  # 0..1


# How telling a regex match is on its own (prefix-letter patterns are near certain).
_PRIOR = {
    "sandbox": 1.0, "sf": 0.95, "yto": 0.95, "jtexpress": 0.95, "jd": 0.95, "deppon": 0.95,
    "zto": 0.85, "sto": 0.8, "yunda": 0.7, "ems": 0.6, "chinapost": 0.5, "best": 0.3,
}
LEGACY_PRIOR = 0.3


def _weight(code: str, number: str) -> float:
    w = _PRIOR.get(code, 0.3)
    if number.isdigit() and len(number) == 13:
        # 13 digits are ambiguous: lean on the leading digit.
        first = number[0]
        if code == "chinapost":
            w = 0.7 if first == "9" else 0.4
        elif code == "ems":
            w = 0.7 if first == "1" else (0.5 if first == "5" else 0.3)
        elif code == "yunda":
            w = 0.6 if first == "3" else 0.3
    elif is_s10_shaped(number):
        service = number[0]
        if code == "ems":
            w = 0.75 if service == "E" else 0.35
        elif code == "chinapost":
            w = 0.65 if service in "CRLV" else 0.35
    return w


def detect(raw_number: str) -> list[Candidate]:
    """Return candidate carriers for a number, best first (empty when nothing fits)."""
    number = normalise_number(raw_number)
    if not number:
        return []
    s10_ok = s10_valid(number) if is_s10_shaped(number) else None
    weights: dict[str, float] = {}
    for code, carrier in CARRIERS.items():
        if not carrier.matches(number):
            continue
        if s10_ok is False and code in ("ems", "chinapost"):
            continue  # S10 shape with a wrong check digit: not a postal number
        if s10_ok and code == "chinapost" and number[0] == "E":
            continue  # E is the EMS service indicator
        weights[code] = LEGACY_PRIOR if carrier.is_legacy(number) else _weight(code, number)
    if not weights:
        return []
    total = sum(weights.values())
    top = max(weights.values())
    # Share the best prior among the candidates: one match keeps its prior.
    cands = [Candidate(code, round(top * w / total, 4)) for code, w in weights.items()]
    order = list(CARRIERS)
    cands.sort(key=lambda c: (-c.confidence, order.index(c.carrier)))
    return cands
