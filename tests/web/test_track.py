"""Public tracking page: masked data only, phone digits when the carrier asks, small first load."""
import re
from datetime import datetime, timezone

import pytest

from shipments.models import TrackingEvent
from shipments.models.enums import EventSource, ShipmentStatus
from tests.web.conftest import csrf_token

FIRST_LOAD_BUDGET = 200 * 1024


pytestmark = pytest.mark.usefixtures("fresh_limits")


@pytest.fixture
def parcel(create_shipment, create_organisation, db_session):
    shipment = create_shipment(
        organisation=create_organisation(name="诸暨某珍珠合作社"), tracking_number="SBX8000000001",
        status=ShipmentStatus.AVAILABLE_FOR_PICKUP, order_ref="DY-SECRET-1", phone_last4="4321",
        destination_province_code="440000", destination_city="深圳市")
    for hour, status, text in ((1, ShipmentStatus.IN_TRANSIT, "快件已揽收"),
                               (9, ShipmentStatus.AVAILABLE_FOR_PICKUP,
                                "快件已到菜鸟驿站，取件码 12-3-4567，快递员王师傅 13912345678")):
        db_session.add(TrackingEvent(shipment=shipment, occurred_at=datetime(2026, 11, 20, hour, tzinfo=timezone.utc),
                                     status=status, description=text, source=EventSource.POLL, dedupe_key=str(hour)))
    db_session.flush()
    return shipment


def test_lookup_form_goes_to_the_parcels_shareable_page(client):
    response = client.get("/track?number=sbx 8000-0000 01")
    assert response.status_code == 303 and response.headers["Location"] == "/t/SBX8000000001"


def show(client, number, digits):
    return client.post(f"/t/{number}", data={"phone_last4": digits, "csrf_token": csrf_token(client, "/track")})


def test_parcel_page_shows_status_in_words_and_a_masked_timeline(client, parcel):
    page = show(client, "SBX8000000001", "4321").get_data(as_text=True)
    assert "已到驿站或快递柜，待取件" in page
    assert re.findall(r"<time [^>]*>([^<]+)</time>", page) == ["2026-11-20 17:00", "2026-11-20 09:00"]
    assert "139******78" in page and "13912345678" not in page
    assert "12-3-4567" not in page and "取件码 ****" in page
    for secret in ("DY-SECRET-1", "诸暨某珍珠合作社"):
        assert secret not in page
    assert "广东省" in page and "http://localhost/t/SBX8000000001" in page  # share link


def test_unknown_number_is_404(client):
    assert client.get("/t/SBX8999999999").status_code == 404


def test_a_parcel_registered_with_digits_asks_for_them(client, create_shipment):
    create_shipment(carrier="sf", provider="kuaidi100", tracking_number="SF1000000000017", phone_last4="2468",
                    status=ShipmentStatus.IN_TRANSIT)
    asked = client.get("/t/SF1000000000017")
    assert asked.status_code == 404  # the same answer as an unknown number
    assert 'name="phone_last4"' in asked.get_data(as_text=True) and "运输中" not in asked.get_data(as_text=True)

    def answer(number, digits):
        return client.post(f"/t/{number}", data={"phone_last4": digits,
                                                 "csrf_token": csrf_token(client, "/track")})

    wrong, unknown = answer("SF1000000000017", "1111"), answer("SF1000000000099", "2468")
    strip = lambda r: re.sub(r"SF10000000000\d\d|<[^>]*csrf[^>]*>", "", r.get_data(as_text=True))  # noqa: E731
    assert wrong.status_code == unknown.status_code == 404
    assert strip(wrong) == strip(unknown)  # same answer: numbers cannot be enumerated
    right = answer("SF1000000000017", "2468").get_data(as_text=True)
    assert "运输中" in right and "2468" not in right


def test_first_load_is_under_200_kb(client, parcel):
    page = show(client, "SBX8000000001", "4321")
    html = page.get_data(as_text=True)
    assets = re.findall(r'<(?:link[^>]+href|script[^>]+src)="(/static/[^"]+)"', html)
    assert any("pico" in a for a in assets)
    total = len(page.data)
    for asset in assets:
        with client.get(asset) as response:  # static files are streamed: close them
            assert response.status_code == 200
            total += len(response.data)
    print(f"tracking page first load: {total / 1024:.1f} KB ({len(assets)} assets)")
    assert total <= FIRST_LOAD_BUDGET


def test_guessing_the_digits_is_rate_limited_per_number(app, client, create_shipment, monkeypatch):
    monkeypatch.setitem(app.config, "TRACK_NUMBER_RATE_LIMIT", "3 per hour")
    create_shipment(carrier="sf", provider="kuaidi100", tracking_number="SF1000000000025", phone_last4="2468")
    token = csrf_token(client, "/track")
    answers = [client.post("/t/SF1000000000025", data={"phone_last4": f"{n:04d}", "csrf_token": token}).status_code
               for n in range(4)]
    assert answers == [404, 404, 404, 429]
    assert client.get("/t/SF1000000000025").status_code == 404  # the shared link still opens (asks for digits)
    # Another client (the recipient) is not locked out by this one's guesses.
    other = client.post("/t/SF1000000000025", data={"phone_last4": "2468", "csrf_token": token},
                        environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other.status_code == 200 and "SF1000000000025" in other.get_data(as_text=True)
