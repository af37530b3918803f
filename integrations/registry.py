"""The provider registry: a literal name -> class table (no import-time registration)."""

from __future__ import annotations

from typing import Mapping

from .base import Provider
from .carriers import PHONE_RULES
from .kdniao.client import KdniaoProvider
from .kuaidi100.client import Kuaidi100Provider
from .sandbox.client import SandboxProvider
from .seventeentrack.client import SeventeenTrackProvider

PROVIDERS: dict[str, type[Provider]] = {
    "kuaidi100": Kuaidi100Provider,
    "kdniao": KdniaoProvider,
    "17track": SeventeenTrackProvider,
    "sandbox": SandboxProvider,
}

# Settings that must be non-empty for a provider to be enabled (DESIGN.md §5 env vars).
REQUIRED_SETTINGS: dict[str, tuple[str, ...]] = {
    "kuaidi100": ("key", "customer"),   # KUAIDI100_KEY, KUAIDI100_CUSTOMER (SALT for pushes)
    "kdniao": ("ebusiness_id", "app_key"),  # KDNIAO_EBUSINESS_ID, KDNIAO_APP_KEY
    "17track": ("token",),              # SEVENTEENTRACK_TOKEN
    "sandbox": (),
}

def get_provider(name: str, **settings) -> Provider:
    """Build the provider called `name` from its settings (KeyError for unknown names)."""
    try:
        cls = PROVIDERS[name]
    except KeyError:
        raise KeyError(f"unknown provider {name!r}; known: {sorted(PROVIDERS)}") from None
    clean = {k: v for k, v in settings.items() if v is not None and v != ""}
    return cls(**clean)


def has_credentials(name: str, settings: Mapping | None) -> bool:
    """Tell whether `settings` hold every credential provider `name` needs."""
    settings = settings or {}
    return all(settings.get(k) for k in REQUIRED_SETTINGS[name])


def enabled_providers(settings_by_name: Mapping[str, Mapping | None]) -> list[str]:
    """Return the provider names with complete credentials (sandbox always), in registry order."""
    return [n for n in PROVIDERS if n == "sandbox" or has_credentials(n, settings_by_name.get(n))]


def needs_phone(carrier: str, provider: str) -> bool:
    """Tell whether `provider` needs the phone's last 4 digits to track `carrier`."""
    return carrier in PHONE_RULES.get(provider, frozenset())
