"""Authorisation matrix: every endpoint × every kind of caller → status, and public tracking."""
import itertools

import pytest

from shipments.models.enums import OrganisationKind, Role
from shipments.services import access

CALLERS = ("anonymous", "member_a", "member_b", "official", "admin")
_numbers = itertools.count(1)

# (method, path, body, {caller: status}); {own} is org A's shipment, {fresh} a new number.
MATRIX = [
    ("GET", "/api/v1/me", None, [401, 200, 200, 200, 200]),
    ("GET", "/api/v1/shipments", None, [401, 200, 200, 200, 200]),
    ("GET", "/api/v1/shipments?carrier=sandbox&limit=5", None, [401, 200, 200, 200, 200]),
    ("POST", "/api/v1/shipments", {"number": "{fresh}"}, [401, 201, 201, 403, 201]),
    ("POST", "/api/v1/shipments", {"number": "{own}"}, [401, 200, 409, 403, 409]),
    ("POST", "/api/v1/shipments/bulk", [{"number": "{fresh}"}], [401, 200, 200, 403, 200]),
    ("GET", "/api/v1/shipments/template?format=csv", None, [401, 200, 200, 200, 200]),
    ("GET", "/api/v1/shipments/template?format=xlsx", None, [401, 200, 200, 200, 200]),
    ("GET", "/api/v1/shipments/sandbox/{own}", None, [401, 200, 404, 200, 200]),
    ("GET", "/api/v1/shipments/sandbox/SBX9999999998", None, [401, 404, 404, 404, 404]),
    ("GET", "/api/v1/track/{own}?phone_last4=4321", None, [200, 200, 200, 200, 200]),
    ("GET", "/api/v1/track/{own}?phone_last4=4322", None, [404, 404, 404, 404, 404]),
    ("GET", "/api/docs/openapi.json", None, [200, 200, 200, 200, 200]),
    ("GET", "/api/v1/webhooks", None, [401, 200, 200, 403, 200]),
    ("POST", "/api/v1/webhooks", {"url": "https://93.184.215.14/hook", "events": ["shipment.registered"]},
     [401, 201, 201, 403, 201]),
]
CASES = [(method, path, body, caller, statuses[i])
         for method, path, body, statuses in MATRIX for i, caller in enumerate(CALLERS)]


pytestmark = pytest.mark.usefixtures("fresh_limits")


@pytest.fixture
def world(db_session, create_organisation, create_shipment):
    org_a, org_b = create_organisation(), create_organisation()
    authority = create_organisation(kind=OrganisationKind.AUTHORITY)
    operator = create_organisation(kind=OrganisationKind.OPERATOR)
    own = create_shipment(organisation=org_a, phone_last4="4321")
    tokens = {
        "member_a": access.create_token(db_session, org_a, Role.MEMBER),
        "member_b": access.create_token(db_session, org_b, Role.MEMBER),
        "official": access.create_token(db_session, authority, Role.OFFICIAL),
        "admin": access.create_token(db_session, operator, Role.ADMIN),
    }
    return own, tokens


def fill(value, own):
    if isinstance(value, str):
        return value.replace("{own}", own.tracking_number).replace("{fresh}", f"SBX{8_000_000_000 + next(_numbers)}")
    if isinstance(value, list):
        return [fill(v, own) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, own) for k, v in value.items()}
    return value


@pytest.mark.parametrize("method, path, body, caller, expected", CASES,
                         ids=[f"{m} {p.split('?')[0]} {c}" for m, p, _, c, _ in CASES])
def test_authorisation_matrix(client, world, method, path, body, caller, expected):
    own, tokens = world
    headers = {"Authorization": f"Bearer {tokens[caller]}"} if caller in tokens else {}
    response = client.open(fill(path, own), method=method, json=fill(body, own), headers=headers)
    assert response.status_code == expected, response.get_data(as_text=True)[:300]
    if path.startswith("/api/v1") and expected >= 400:
        assert response.is_json and response.json["code"] == expected


def test_public_tracking_is_masked(client, db_session, create_shipment):
    from datetime import datetime, timezone

    from shipments.models import TrackingEvent
    from shipments.models.enums import EventSource, ShipmentStatus
    # A fixed number: a factory one (SBX0000000789) may itself contain "0078".
    shipment = create_shipment(tracking_number="SBX5550000001", phone_last4="0078", order_ref="DY-SECRET",
                               destination_province_code="440000")
    db_session.add(TrackingEvent(
        shipment=shipment, occurred_at=datetime(2026, 11, 20, 4, tzinfo=timezone.utc),
        status=ShipmentStatus.AVAILABLE_FOR_PICKUP, source=EventSource.POLL, dedupe_key="x",
        description="已到驿站，取件码 8-2-1234，签收人：张三丰，快递员电话 13912345678"))
    db_session.flush()
    response = client.get(f"/api/v1/track/{shipment.tracking_number}", query_string={"phone_last4": "0078"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "DY-SECRET" not in body and "0078" not in body and "organisation" not in body
    description = response.json["events"][0]["description"]
    assert "139******78" in description and "张**" in description and "8-2-1234" not in description
    assert response.json["carrier_name"] == "越乡模拟快递"


def test_unknown_number_and_wrong_digits_answer_identically(client, create_shipment):
    shipment = create_shipment(phone_last4="1111")
    wrong = client.get(f"/api/v1/track/{shipment.tracking_number}", query_string={"phone_last4": "2222"})
    unknown = client.get("/api/v1/track/SBX0000099999", query_string={"phone_last4": "2222"})
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.get_data() == unknown.get_data()
    # Registered without digits: its status only, never the timeline (services/public_tracking.py).
    no_phone = create_shipment()
    blank = client.get(f"/api/v1/track/{no_phone.tracking_number}", query_string={"phone_last4": ""})
    assert blank.status_code == 200 and blank.json["timeline"] is False and blank.json["events"] == []


def test_tracking_is_rate_limited_per_client(app, client, create_shipment):
    shipment = create_shipment(phone_last4="1111")
    original = app.config["TRACK_RATE_LIMIT"]
    app.config["TRACK_RATE_LIMIT"] = "3 per minute"
    try:
        statuses = [client.get(f"/api/v1/track/SBX00000{i:05d}", query_string={"phone_last4": "1"}).status_code
                    for i in range(3)]
        limited = client.get(f"/api/v1/track/{shipment.tracking_number}", query_string={"phone_last4": "1111"})
        other_client = client.get(f"/api/v1/track/{shipment.tracking_number}", query_string={"phone_last4": "1111"},
                                  environ_base={"REMOTE_ADDR": "10.0.0.9"})
    finally:
        app.config["TRACK_RATE_LIMIT"] = original
    assert statuses == [404, 404, 404]
    assert limited.status_code == 429 and limited.is_json and "Retry-After" in limited.headers
    assert other_client.status_code == 200


def test_wrong_digits_are_limited_per_client_and_number(app, client, create_shipment, monkeypatch):
    """Issue 15: strangers' wrong guesses used to lock the recipient out of their own number."""
    shipment = create_shipment(phone_last4="1111")
    monkeypatch.setitem(app.config, "TRACK_NUMBER_RATE_LIMIT", "2 per hour")
    url = f"/api/v1/track/{shipment.tracking_number}"

    def ask(address, digits):
        return client.get(url, query_string={"phone_last4": digits}, environ_base={"REMOTE_ADDR": address})
    strangers = [ask(f"10.0.1.{i}", "9999").status_code for i in range(30)]
    guesser = [ask("10.0.2.1", "9999").status_code for _ in range(3)]
    recipient = ask("10.0.3.1", "1111")
    assert strangers == [404] * 30 and guesser == [404, 404, 429]
    assert recipient.status_code == 200 and recipient.json["number"] == shipment.tracking_number
    assert ask("10.0.3.1", "1111").status_code == 200  # right digits never count


def test_docs_pages_are_served_offline(client):
    for path in ("/api/docs/swagger", "/api/docs/redoc"):
        page = client.get(path).get_data(as_text=True)
        assert "/static/vendor/" in page and "cdn" not in page.lower()
    for asset in ("swagger-ui/swagger-ui-bundle.js", "swagger-ui/swagger-ui.css", "redoc/redoc.standalone.js",
                  "redoc/logo-mini.svg"):
        response = client.get(f"/static/vendor/{asset}")
        assert response.status_code == 200
        assert b"cdn.redoc.ly" not in response.data
        response.close()
