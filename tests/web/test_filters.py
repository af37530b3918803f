"""Display filters: Beijing time, yuan, locale numbers, masked phone digits."""
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from flask_babel import force_locale

from shipments.web import filters


@pytest.fixture
def request_ctx(app):
    with app.test_request_context("/"):
        yield


def test_beijing_time_is_utc_plus_eight(request_ctx):
    assert filters.beijing(datetime(2026, 11, 20, 17, 30, tzinfo=timezone.utc)) == "2026-11-21 01:30"
    assert filters.beijing("2026-11-20T17:30:00+00:00") == "2026-11-21 01:30"
    assert filters.beijing(None) == ""


def test_yuan_keeps_every_fen_and_follows_the_locale(request_ctx):
    with force_locale("zh_Hans_CN"):
        assert filters.yuan(Decimal("1234567.89")) == "¥1,234,567.89"
    with force_locale("en"):
        assert filters.yuan(Decimal("0.10")) == "CN¥0.10"
    assert filters.yuan(None) == ""


def test_numbers_are_grouped(request_ctx):
    with force_locale("zh_Hans_CN"):
        assert filters.number(10_000_000) == "10,000,000"


@pytest.mark.parametrize("locale", ["zh_Hans_CN", "en", "de_DE", "fr", "ar_EG"])
def test_numbers_are_written_as_babel_writes_them(request_ctx, locale):
    """The filters' direct path (zh and en) gives Babel's text; other locales go through Babel."""
    import random

    from flask_babel import format_decimal
    rng = random.Random(7)
    values = [0, 1, -1, 999, 1000, -1234567, 10**12, 0.0, -0.0, 0.0004, 0.0005, 0.0015, 0.0025, -0.0004, 12.3456,
              1e20, 2.675, 1.0005, 1e-7, float("nan"), float("inf"), Decimal("93.40"), Decimal("-0.0005"),
              Decimal("1234.5678"), Decimal("100.0"), Decimal("NaN")]
    values += [rng.randint(-10**9, 10**9) for _ in range(300)] + [rng.uniform(-1e6, 1e6) for _ in range(300)]
    values += [Decimal(rng.randint(-10**7, 10**7)) / Decimal(10 ** rng.randint(0, 5)) for _ in range(300)]
    values += [round(rng.uniform(0, 200), 1) for _ in range(300)]
    with force_locale(locale):
        assert [filters.number(v) for v in values] == [format_decimal(v) for v in values]
        assert filters.percent(Decimal("93.4")) == format_decimal(Decimal("93.4")) + "%"


def test_phone_shows_only_the_last_four_digits_behind_a_mask(request_ctx):
    assert filters.phone_tail("5678") == "*******5678"
    assert filters.phone_tail(None) == ""


def test_status_and_carrier_names_follow_the_locale(request_ctx):
    with force_locale("zh_Hans_CN"):
        assert filters.status_label("available_for_pickup") == "已到驿站或快递柜，待取件"
        assert filters.carrier_name("sf") == "顺丰速运"
    with force_locale("en"):
        assert filters.status_label("delivered") == "Delivered"
        assert filters.carrier_name("sf") == "SF Express"
