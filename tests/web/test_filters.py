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
