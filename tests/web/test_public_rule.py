"""One public rule (services/public_tracking.py) behind the page and the API: the same answer for the
same inputs (issue 10)."""
import re
from datetime import datetime, timezone

import pytest

from shipments.models import TrackingEvent
from shipments.models.enums import EventSource, ShipmentStatus
from tests.web.conftest import csrf_token


pytestmark = pytest.mark.usefixtures("fresh_limits")


@pytest.fixture
def parcels(db_session, create_shipment):
    """A YTO parcel registered with digits, an SF parcel with digits, a YTO parcel without digits."""
    made = {
        "yto_digits": create_shipment(carrier="yto", provider="kuaidi100", tracking_number="YT7100000000001",
                                      phone_last4="4321", status=ShipmentStatus.IN_TRANSIT),
        "sf_digits": create_shipment(carrier="sf", provider="kuaidi100", tracking_number="SF7100000000002",
                                     phone_last4="8642", status=ShipmentStatus.OUT_FOR_DELIVERY),
        "yto_plain": create_shipment(carrier="yto", provider="kuaidi100", tracking_number="YT7100000000003",
                                     status=ShipmentStatus.IN_TRANSIT),
    }
    for shipment in made.values():
        for hour, text, place in ((1, "快件已揽收，快递员 13912345678", "浙江省绍兴市"), (9, "快件到达杭州转运中心", "杭州市")):
            db_session.add(TrackingEvent(shipment=shipment, occurred_at=datetime(2026, 6, 1, hour, tzinfo=timezone.utc),
                                         status=ShipmentStatus.IN_TRANSIT, description=text, location=place,
                                         source=EventSource.POLL, dedupe_key=f"{shipment.tracking_number}{hour}"))
    db_session.flush()
    return made


def api_answer(client, number, digits):
    query = {"phone_last4": digits} if digits is not None else {}
    response = client.get(f"/api/v1/track/{number}", query_string=query)
    if response.status_code != 200:
        return response.status_code, None
    body = response.get_json()
    return 200, {"status": body["status"], "timeline": body["timeline"], "last_city": body["last_city"],
                 "events": len(body["events"])}


def page_answer(client, number, digits):
    if digits is None:
        response = client.get(f"/t/{number}")
    else:
        response = client.post(f"/t/{number}", data={"phone_last4": digits,
                                                      "csrf_token": csrf_token(client, "/track")})
    page = response.get_data(as_text=True)
    if response.status_code != 200:
        return response.status_code, None
    status = re.search(r'data-testid="status"><strong>([^<]+)</strong>', page).group(1)
    city = re.search(r'data-testid="last-city">([^<]+)<', page)
    return 200, {"status": status, "timeline": 'data-testid="no-timeline"' not in page,
                 "last_city": city.group(1) if city else None,
                 "events": len(re.findall(r"<time ", page))}


STATUS_WORDS = {"in_transit": "运输中", "out_for_delivery": "派送中"}  # the page says it in words
CASES = [
    ("YT7100000000001", None), ("YT7100000000001", "4321"), ("YT7100000000001", "1111"),
    ("SF7100000000002", None), ("SF7100000000002", "8642"), ("SF7100000000002", "0000"),
    ("YT7100000000003", None), ("YT7100000000003", "1234"),
    ("YT7199999999999", None), ("YT7199999999999", "4321"),
]


@pytest.mark.parametrize("number,digits", CASES)
def test_page_and_api_give_the_same_answer(client, parcels, number, digits):
    api_status, api = api_answer(client, number, digits)
    page_status, page = page_answer(client, number, digits)
    assert api_status == page_status
    if api is None:
        assert page is None
        return
    assert page == {**api, "status": STATUS_WORDS[api["status"]]}


@pytest.mark.parametrize("number,digits,expected", [
    ("YT7100000000001", "4321", "timeline"), ("YT7100000000001", None, 404), ("YT7100000000001", "1111", 404),
    ("SF7100000000002", "8642", "timeline"), ("YT7100000000003", None, "status"),
    ("YT7100000000003", "4321", "status"), ("YT7199999999999", "4321", 404),
])
def test_the_rule(client, parcels, number, digits, expected):
    status, answer = api_answer(client, number, digits)
    if expected == 404:
        assert status == 404
    elif expected == "timeline":
        assert answer["timeline"] is True and answer["events"] == 2
    else:
        assert answer == {"status": "in_transit", "timeline": False, "last_city": "杭州市", "events": 0}


def test_unknown_number_and_wrong_digits_give_the_same_answer(client, parcels):
    wrong = client.get("/api/v1/track/YT7100000000001", query_string={"phone_last4": "1111"})
    unknown = client.get("/api/v1/track/YT7199999999999", query_string={"phone_last4": "4321"})
    assert (wrong.status_code, wrong.get_json()) == (unknown.status_code, unknown.get_json())
