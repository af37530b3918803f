"""POST/GET /api/v1/shipments: registration, idempotency, scoping, lists."""
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from shipments.models import Shipment, TrackingEvent
from shipments.models.enums import EventSource, OrganisationKind, Role, ShipmentStatus, StopReason
from shipments.services import access


@pytest.fixture
def auth(db_session, create_organisation):
    """auth(role, org) -> headers with a fresh bearer token."""
    def make(role=Role.MEMBER, org=None, lang=None):
        # Administrators belong to the operator organisation (tokens too).
        org = org or create_organisation(**({"kind": OrganisationKind.OPERATOR} if role == Role.ADMIN else {}))
        token = access.create_token(db_session, org, role)
        headers = {"Authorization": f"Bearer {token}"}
        if lang:
            headers["Accept-Language"] = lang
        return headers
    return make


def test_register_then_again_is_idempotent(client, db_session, auth, create_organisation):
    org = create_organisation()
    headers = auth(org=org)
    body = {"number": "ＳＢＸ 0000 000 123", "phone_last4": "139 1234 5678", "pieces": 2, "weight_kg": "0.35",
            "declared_value": "199.9", "channel": "抖音", "destination_province": "广东省"}
    first = client.post("/api/v1/shipments", json=body, headers=headers)
    assert first.status_code == 201, first.json
    assert first.json["number"] == "SBX0000000123" and first.json["carrier"] == "sandbox"
    assert first.json["provider"] == "sandbox" and first.json["phone_last4"] == "5678"
    assert first.json["channel"] == "douyin" and first.json["destination_province_code"] == "440000"
    assert first.json["declared_value"] == "199.90" and first.json["weight_kg"] == "0.350"
    again = client.post("/api/v1/shipments", json={"number": "SBX0000000123", "pieces": 9}, headers=headers)
    assert again.status_code == 200 and again.json == first.json
    stored = db_session.scalars(select(Shipment)).all()
    assert len(stored) == 1 and stored[0].organisation_id == org.id
    assert stored[0].next_poll_at == stored[0].registered_at  # due at once


def test_other_organisations_number_is_409_revealing_nothing(client, auth):
    assert client.post("/api/v1/shipments", json={"number": "SBX0000000124", "order_ref": "A-1"},
                       headers=auth()).status_code == 201
    response = client.post("/api/v1/shipments", json={"number": "SBX0000000124"}, headers=auth())
    assert response.status_code == 409
    assert set(response.json) <= {"code", "status", "message", "errors"}
    assert "A-1" not in response.text and "合作社" not in response.text


def test_ambiguous_carrier_lists_candidates(client, auth):
    response = client.post("/api/v1/shipments", json={"number": "9800000000001"}, headers=auth(lang="en"))
    assert response.status_code == 422
    candidates = [c["carrier"] for c in response.json["errors"]["candidates"]]
    assert "chinapost" in candidates and "ems" in candidates
    assert "carrier" in response.json["errors"]["json"]


def test_confident_detection_picks_the_carrier(client, auth):
    response = client.post("/api/v1/shipments", json={"number": "YT1234567890123"}, headers=auth())
    assert response.status_code == 201 and response.json["carrier"] == "yto"


@pytest.mark.parametrize("lang, text", [(None, "手机尾号"), ("en-GB,en;q=0.9", "last 4 digits")])
def test_rule_errors_name_the_field_in_the_callers_language(client, auth, lang, text):
    response = client.post("/api/v1/shipments", json={"number": "SF1234567890123", "pieces": 0, "phone_last4": "12ab"},
                           headers=auth(lang=lang))
    assert response.status_code == 422
    errors = response.json["errors"]["json"]
    assert set(errors) == {"phone_last4", "pieces"} and text in errors["phone_last4"][0]


def test_official_may_not_register(client, auth):
    assert client.post("/api/v1/shipments", json={"number": "SBX0000000125"},
                       headers=auth(Role.OFFICIAL)).status_code == 403


def _events(db_session, shipment, count=3):
    start = datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc)
    for i in range(count):
        db_session.add(TrackingEvent(
            shipment=shipment, occurred_at=start + timedelta(hours=i), status=ShipmentStatus.IN_TRANSIT,
            description=f"快递员王小明 1391234567{i} 派件中", location="诸暨", source=EventSource.POLL,
            dedupe_key=f"k{i}"))
    db_session.flush()


def test_detail_with_events_and_scoping(client, db_session, auth, create_organisation, create_shipment):
    org = create_organisation()
    shipment = create_shipment(organisation=org, phone_last4="5678", order_ref="DY1")
    _events(db_session, shipment)
    url = f"/api/v1/shipments/sandbox/{shipment.tracking_number.lower()}"
    own = client.get(url, headers=auth(org=org))
    assert own.status_code == 200 and len(own.json["events"]) == 3
    assert own.json["phone_last4"] == "5678" and "13912345670" in own.json["events"][0]["description"]
    assert client.get(url, headers=auth()).status_code == 404  # another organisation
    official = client.get(url, headers=auth(Role.OFFICIAL)).json
    assert official["phone_last4"] is None and official["order_ref"] is None
    assert "139******70" in official["events"][0]["description"] and "王*" in official["events"][0]["description"]
    assert client.get("/api/v1/shipments/sandbox/SBX9999999999", headers=auth(org=org)).status_code == 404


def test_list_filters_and_cursor_pages(client, db_session, auth, create_organisation, create_shipment):
    org, other = create_organisation(), create_organisation()
    base = datetime(2026, 11, 1, tzinfo=timezone.utc)
    mine = [create_shipment(organisation=org, registered_at=base + timedelta(hours=i // 2), order_ref=f"R{i}")
            for i in range(7)]
    create_shipment(organisation=other)
    headers = auth(org=org)
    seen, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/shipments", query_string=params, headers=headers).json
        seen += [item["number"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    expected = [s.tracking_number for s in sorted(mine, key=lambda s: (s.registered_at, s.id), reverse=True)]
    assert seen == expected
    found = client.get("/api/v1/shipments", query_string={"search": "R3"}, headers=headers).json["items"]
    assert [item["number"] for item in found] == [mine[3].tracking_number]
    window = client.get("/api/v1/shipments", headers=headers, query_string={
        "registered_from": (base + timedelta(hours=1)).isoformat(),
        "registered_to": (base + timedelta(hours=2)).isoformat()}).json["items"]
    assert {item["number"] for item in window} == {mine[2].tracking_number, mine[3].tracking_number}
    everything = client.get("/api/v1/shipments", query_string={"limit": 200}, headers=auth(Role.OFFICIAL)).json
    assert len(everything["items"]) == 8 and all(item["phone_last4"] is None for item in everything["items"])


def test_bad_cursor_is_422(client, auth):
    response = client.get("/api/v1/shipments", query_string={"cursor": "bm9wZQ"}, headers=auth())
    assert response.status_code == 422 and response.is_json


@pytest.mark.parametrize("events", [0, 3])
def test_detail_fast_path_equals_the_schema_dump(client, db_session, auth, create_organisation, create_shipment,
                                                 events):
    """GET one shipment builds its answer from rows: it must be what the schemas dump."""
    from shipments.schemas.shipments import OfficialShipmentDetailSchema, ShipmentDetailSchema
    org = create_organisation()
    shipment = create_shipment(
        organisation=org, phone_last4="5678", order_ref="DY1", weight_kg=Decimal("0.300"),
        declared_value=Decimal("199.00"), destination_province_code="440000", batch_label="第一批",
        picked_up_at=datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc), stop_reason=StopReason.DELIVERED,
        status=ShipmentStatus.DELIVERED, at_station=True)
    _events(db_session, shipment, events)
    db_session.expire_all()  # the schema dumps what the database holds, like the fast path
    url = f"/api/v1/shipments/sandbox/{shipment.tracking_number}"
    callers = [(auth(org=org), ShipmentDetailSchema()), (auth(Role.ADMIN), ShipmentDetailSchema()),
               (auth(Role.OFFICIAL), OfficialShipmentDetailSchema())]
    for headers, schema in callers:
        response = client.get(url, headers=headers)
        assert response.status_code == 200
        assert response.json == json.loads(json.dumps(schema.dump(db_session.get(Shipment, shipment.id))))
        assert len(response.json["events"]) == events


@pytest.mark.parametrize("field", ["order_ref", "batch_label", "destination_city"])
def test_control_characters_are_refused_naming_the_field(client, db_session, create_organisation, field):
    token = access.create_token(db_session, create_organisation(), Role.MEMBER)
    headers = {"Authorization": f"Bearer {token}"}
    body = {"number": "SBX0000000009", "carrier": "sandbox", field: "a\u0000b"}
    single = client.post("/api/v1/shipments", json=body, headers=headers)
    assert single.status_code == 422 and field in str(single.json["errors"])
    bulk = client.post("/api/v1/shipments/bulk", json=[body], headers=headers).json
    assert bulk["invalid"] == 1 and bulk["problems"][0]["field"] == field
    assert client.get("/api/v1/shipments?search=a%01b", headers=headers).status_code == 422


def test_cancel_keeps_the_row_stops_polling_and_leaves_the_volumes(client, db_session, auth, create_organisation,
                                                                     create_program):
    from shipments.services import reports
    org, other = create_organisation(), create_organisation()
    program = create_program(organisations=[org])
    headers = auth(org=org)
    for n in ("SBX0000000301", "SBX0000000302"):
        assert client.post("/api/v1/shipments", json={"number": n, "program_id": program.id, "pieces": 3},
                           headers=headers).status_code == 201
    volume = lambda: reports.volume_report(db_session, "month", (), reports.ReportFilters(program_id=program.id))
    assert volume().totals["pieces"] == 6
    path = "/api/v1/shipments/sandbox/SBX0000000301"
    assert client.delete(path, json={"reason": "订单已退款"}, headers=auth(org=other)).status_code == 404
    assert client.delete(path, json={"reason": "x"}, headers=auth(role=Role.OFFICIAL)).status_code == 403
    assert client.delete(path, json={}, headers=headers).status_code == 422
    response = client.delete(path, json={"reason": "订单已退款"}, headers=headers)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "cancelled" and response.json["cancel_reason"] == "订单已退款"
    assert response.json["stop_reason"] == "cancelled" and response.json["next_poll_at"] is None
    stored = db_session.scalar(select(Shipment).where(Shipment.tracking_number == "SBX0000000301"))
    assert stored.status == ShipmentStatus.CANCELLED and stored.cancelled_at is not None
    assert volume().totals["pieces"] == 3
    assert reports.volume_report_raw(db_session, "month", (), reports.ReportFilters(program_id=program.id)
                                     ).totals["pieces"] == 3
    assert reports.reconcile(db_session) == []
    reports.refresh_rollups(db_session)
    assert volume().totals["pieces"] == 3 and reports.reconcile(db_session) == []
    # Again: nothing changes; the detail says why.
    assert client.delete(path, json={"reason": "again"}, headers=headers).json["cancel_reason"] == "订单已退款"
    detail = client.get(path, headers=headers).json
    assert detail["status"] == "cancelled" and detail["stop_reason"] == "cancelled"
