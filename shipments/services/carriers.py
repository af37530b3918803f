"""Which provider (aggregator) tracks which carrier, from configuration."""
import re

from integrations.registry import has_credentials

UNASSIGNED = "unassigned"  # no enabled provider can track this carrier yet
SANDBOX = "sandbox"

# Our configuration names for each provider's settings (DESIGN.md §5).
PROVIDER_SETTINGS = {
    "kuaidi100": {"url": "KUAIDI100_URL", "key": "KUAIDI100_KEY", "customer": "KUAIDI100_CUSTOMER",
                  "salt": "KUAIDI100_SALT"},
    "kdniao": {"url": "KDNIAO_URL", "ebusiness_id": "KDNIAO_EBUSINESS_ID", "app_key": "KDNIAO_APP_KEY"},
    "17track": {"url": "SEVENTEENTRACK_URL", "token": "SEVENTEENTRACK_TOKEN"},
}
DOMESTIC_PREFERENCE = ("kuaidi100", "kdniao", "17track")
# International postal numbers (UPU S10) go to 17TRACK first.
INTERNATIONAL_PREFERENCE = ("17track", "kuaidi100", "kdniao")
_S10_INTERNATIONAL = re.compile(r"^[A-Z]{2}\d{9}(?!CN)[A-Z]{2}$")


def provider_settings(config) -> dict[str, dict]:
    """Settings of every provider with complete credentials, sandbox included."""
    enabled = {SANDBOX: {}}
    for name, mapping in PROVIDER_SETTINGS.items():
        settings = {key: config.get(env) for key, env in mapping.items() if config.get(env)}
        if has_credentials(name, settings):
            enabled[name] = settings
    return enabled


def choose_provider(carrier: str, number: str, enabled) -> str:
    """The provider to track a parcel through, or UNASSIGNED when none is on."""
    if carrier == SANDBOX:
        return SANDBOX
    preference = INTERNATIONAL_PREFERENCE if _S10_INTERNATIONAL.match(number) else DOMESTIC_PREFERENCE
    return next((name for name in preference if name in enabled), UNASSIGNED)
