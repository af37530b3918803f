"""Sandbox carrier: deterministic simulated parcels for demos and tests."""

from .client import SandboxProvider
from .timeline import CITY_PROVINCES, DEFAULT_KNOBS, NUMBER_RE, destination_of, make_number, timeline, transfer_number

__all__ = ["SandboxProvider", "CITY_PROVINCES", "DEFAULT_KNOBS", "destination_of", "NUMBER_RE", "make_number", "timeline", "transfer_number"]
