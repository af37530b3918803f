"""Sandbox carrier: deterministic simulated parcels for demos and tests."""

from .client import SandboxProvider
from .timeline import DEFAULT_KNOBS, NUMBER_RE, make_number, timeline, transfer_number

__all__ = ["SandboxProvider", "DEFAULT_KNOBS", "NUMBER_RE", "make_number", "timeline", "transfer_number"]
