"""Package-level contracts: isolation, statuses, registry, helpers."""

from __future__ import annotations

import dataclasses
import pathlib
import subprocess
import sys
from datetime import datetime, timezone

import pytest

import integrations
from integrations import (TERMINAL, Status, TrackEvent, TrackRequest, enabled_providers, get_provider,
                          needs_phone)
from integrations.base import beijing_to_utc
from integrations.models import dedupe_events
from integrations.registry import PROVIDERS

ROOT = pathlib.Path(integrations.__file__).resolve().parent.parent


def test_import_loads_neither_flask_nor_sqlalchemy():
    code = ("import integrations, integrations.registry, sys; "
            "assert 'flask' not in sys.modules and 'sqlalchemy' not in sys.modules; "
            "assert 'shipments' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_providers_never_read_the_environment():
    for path in pathlib.Path(integrations.__file__).parent.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "os.environ" not in text and "getenv" not in text, path


def test_status_values_and_terminal():
    assert [s.value for s in Status] == ["pending", "info_received", "in_transit", "out_for_delivery",
                                         "available_for_pickup", "attempt_fail", "delivered", "exception",
                                         "returning", "returned", "expired", "cancelled"]
    assert Status("delivered") == "delivered" and isinstance(Status.DELIVERED, str)
    assert TERMINAL == {Status.DELIVERED, Status.RETURNED, Status.EXPIRED, Status.CANCELLED}
    assert [s for s in Status if s.is_terminal] == [Status.DELIVERED, Status.RETURNED, Status.EXPIRED,
                                                    Status.CANCELLED]


def test_track_request_is_frozen():
    r = TrackRequest("sf", "SF1", phone_last4="1234")
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.number = "x"


def test_registry_and_provider_attributes():
    assert list(PROVIDERS) == ["kuaidi100", "kdniao", "17track", "sandbox"]
    expect = {"kuaidi100": (1, True), "kdniao": (1, True), "17track": (40, True), "sandbox": (100, False)}
    for name, cls in PROVIDERS.items():
        assert cls.code == name and (cls.max_batch, cls.supports_push) == expect[name]
    with pytest.raises(KeyError):
        get_provider("aftership")


def test_default_urls_and_no_credentials_in_repr():
    p = get_provider("kuaidi100", key="SECRETKEY", customer="CUST", salt=None)
    assert p.url == "https://poll.kuaidi100.com" and "SECRETKEY" not in repr(p)
    assert get_provider("kdniao", ebusiness_id="1", app_key="k").url == "https://api.kdniao.com"
    assert get_provider("17track", token="t").url == "https://api.17track.net/track/v2.2"
    assert p.timeout > 0
    p.close()


def test_enabled_providers():
    settings = {"kuaidi100": {"key": "k", "customer": ""}, "kdniao": {"ebusiness_id": "1", "app_key": "k"},
                "17track": None}
    assert enabled_providers(settings) == ["kdniao", "sandbox"]
    assert enabled_providers({}) == ["sandbox"]


def test_needs_phone_rule():
    assert needs_phone("sf", "kuaidi100") and needs_phone("zto", "kuaidi100")
    assert needs_phone("sf", "kdniao") and not needs_phone("zto", "kdniao")
    assert not needs_phone("yto", "kuaidi100") and not needs_phone("sf", "sandbox")


def test_beijing_to_utc():
    assert beijing_to_utc("2026-06-01 08:00:00") == datetime(2026, 6, 1, 0, 0, tzinfo=timezone.utc)
    assert beijing_to_utc("2026/01/01 07:59:59") == datetime(2025, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
    with pytest.raises(ValueError):
        beijing_to_utc("yesterday")


def test_dedupe_events_sorts_oldest_first():
    t1, t2 = datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 1, 2, tzinfo=timezone.utc)
    evs = [TrackEvent(t2, Status.DELIVERED, "签收"), TrackEvent(t1, Status.IN_TRANSIT, "在途"),
           TrackEvent(t2, Status.DELIVERED, "签收 "), TrackEvent(t2, Status.DELIVERED, "另一条")]
    out = dedupe_events(evs)
    assert [e.description for e in out] == ["在途", "签收", "另一条"]
