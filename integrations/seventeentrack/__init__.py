"""17TRACK v2.2 provider."""

from .client import SeventeenTrackProvider

__all__ = ["SeventeenTrackProvider"]
