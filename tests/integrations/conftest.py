"""Fixtures: each provider's real client pointed at its local fake server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pytest

from integrations import TrackRequest, get_provider
from tests.fakes import kdniao, kuaidi100, seventeentrack
from tests.fakes.server import serve

CLIENT_TIMEOUT = 0.4  # fakes sleep `timeout_sleep` = 1.2 s for the timeout behaviour


@dataclass
class Harness:
    name: str
    fake: Any
    url: str
    provider: Any
    make: Callable[..., Any]   # make(**settings) -> another provider on the same fake
    carrier: str               # carrier used for plain numbers
    phone_carrier: str | None  # carrier that needs a phone (None: no rule)

    def number(self, i: int = 1) -> str:
        return {"kuaidi100": f"YT{i:013d}", "kdniao": f"YT{i:013d}", "17track": f"EA{i:011d}CN"}[self.name]

    def request(self, number: str, **kw) -> TrackRequest:
        return TrackRequest(kw.pop("carrier", self.carrier), number, **kw)


def _settings(name: str, url: str) -> dict:
    if name == "kuaidi100":
        return dict(url=url, key=kuaidi100.KEY, customer=kuaidi100.CUSTOMER, salt=kuaidi100.SALT)
    if name == "kdniao":
        return dict(url=url, ebusiness_id=kdniao.EBUSINESS_ID, app_key=kdniao.APP_KEY)
    return dict(url=url, token=seventeentrack.TOKEN)


FAKES = {"kuaidi100": kuaidi100.Kuaidi100Fake, "kdniao": kdniao.KdniaoFake,
         "17track": seventeentrack.SeventeenTrackFake}


def _harness(name: str):
    fake = FAKES[name](timeout_sleep=1.2)
    url, stop = serve(fake)
    made = []

    def make(**overrides):
        p = get_provider(name, **{**_settings(name, url), "timeout": CLIENT_TIMEOUT, **overrides})
        made.append(p)
        return p

    provider = make()
    carrier = "ems" if name == "17track" else "yto"
    phone = {"kuaidi100": "sf", "kdniao": "sf", "17track": None}[name]
    try:
        yield Harness(name, fake, url, provider, make, carrier, phone)
    finally:
        for p in made:
            p.close()
        stop()


@pytest.fixture(params=["kuaidi100", "kdniao", "17track"])
def harness(request):
    """Each push-capable provider against its fake (parametrised)."""
    yield from _harness(request.param)


@pytest.fixture
def k100():
    yield from _harness("kuaidi100")


@pytest.fixture
def kdn():
    yield from _harness("kdniao")


@pytest.fixture
def t17():
    yield from _harness("17track")
