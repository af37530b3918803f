"""Kdniao (快递鸟) provider."""

from .client import KdniaoProvider

__all__ = ["KdniaoProvider"]
