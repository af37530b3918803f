"""Kuaidi100 (快递100) provider."""

from .client import Kuaidi100Provider

__all__ = ["Kuaidi100Provider"]
