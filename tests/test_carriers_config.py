"""Provider choice from configuration."""
from shipments.services.carriers import UNASSIGNED, choose_provider, provider_settings


def test_only_sandbox_without_credentials():
    assert provider_settings({"KUAIDI100_URL": "https://poll.kuaidi100.com"}) == {"sandbox": {}}


def test_provider_needs_all_its_credentials():
    enabled = provider_settings({"KUAIDI100_KEY": "k", "SEVENTEENTRACK_TOKEN": "t", "KDNIAO_EBUSINESS_ID": "1"})
    assert set(enabled) == {"sandbox", "17track"}


def test_preference_order():
    config = {"KUAIDI100_KEY": "k", "KUAIDI100_CUSTOMER": "c", "SEVENTEENTRACK_TOKEN": "t"}
    enabled = provider_settings(config)
    assert enabled["kuaidi100"] == {"key": "k", "customer": "c"}
    assert choose_provider("zto", "78000000000001", enabled) == "kuaidi100"
    assert choose_provider("ems", "EA123456785US", enabled) == "17track"
    assert choose_provider("ems", "EA123456785CN", enabled) == "kuaidi100"
    assert choose_provider("sandbox", "SBX0000000001", enabled) == "sandbox"
    assert choose_provider("zto", "78000000000001", {"sandbox": {}}) == UNASSIGNED


def test_configured_default_urls_are_the_providers_own(tmp_path):
    from integrations.registry import PROVIDERS
    from shipments.config import load_config

    config = load_config(str(tmp_path), environ={
        "KUAIDI100_KEY": "k", "KUAIDI100_CUSTOMER": "c", "KDNIAO_EBUSINESS_ID": "1", "KDNIAO_APP_KEY": "a",
        "SEVENTEENTRACK_TOKEN": "t"})
    for name, settings in provider_settings(config).items():
        if name != "sandbox":
            assert settings["url"] == PROVIDERS[name].default_url, name
