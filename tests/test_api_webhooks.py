"""/api/v1/webhooks: subscriptions of the caller's organisation, the secret once, tests, logs, redelivery."""
import pytest
from sqlalchemy import select

from shipments.models import WebhookDelivery, WebhookSubscription
from shipments.models.enums import DeliveryState, Role
from shipments.services import access
from shipments.services.webhooks import delivery
from tests.fakes.server import serve
from tests.fakes.webhook_receiver import Receiver

URL = "https://93.184.215.14/hook"


@pytest.fixture
def token(db_session, create_organisation):
    def make(role=Role.MEMBER, org=None):
        org = org or create_organisation()
        return org, {"Authorization": f"Bearer {access.create_token(db_session, org, role)}"}
    return make


def test_create_shows_the_secret_once_then_never(client, db_session, token):
    org, headers = token()
    response = client.post("/api/v1/webhooks", headers=headers, json={
        "url": URL, "events": ["shipment.status_changed"], "statuses": ["delivered", "exception"]})
    assert response.status_code == 201, response.json
    created = response.json
    assert created["secret"].startswith("whsec_") and created["active"] is True
    stored = db_session.get(WebhookSubscription, created["id"])
    assert (stored.organisation_id, stored.url, stored.statuses) == (org.id, URL, ["delivered", "exception"])
    listed = client.get("/api/v1/webhooks", headers=headers).json
    assert [s["id"] for s in listed] == [created["id"]] and "secret" not in listed[0]
    assert "secret" not in client.get(f"/api/v1/webhooks/{created['id']}", headers=headers).json


@pytest.mark.parametrize("body, field", [
    ({"url": "http://10.0.0.5/hook", "events": ["shipment.registered"]}, "url"),
    ({"url": "ftp://example.com/hook", "events": ["shipment.registered"]}, "url"),
    ({"url": "https://user:pw@example.com/hook", "events": ["shipment.registered"]}, "url"),
    ({"url": URL, "events": ["shipment.teleported"]}, "events"),
    ({"url": URL, "events": []}, "events"),
    ({"url": URL, "events": ["shipment.status_changed"], "statuses": ["lost"]}, "statuses"),
])
def test_bad_subscriptions_are_422_naming_the_field(client, token, body, field):
    _org, headers = token()
    response = client.post("/api/v1/webhooks", headers=headers, json=body)
    assert response.status_code == 422
    assert field in str(response.json["errors"])


def test_another_organisation_sees_nothing_and_officials_may_not(client, token):
    _org, owner = token()
    _other, stranger = token()
    _authority, official = token(Role.OFFICIAL)
    sid = client.post("/api/v1/webhooks", headers=owner, json={"url": URL, "events": ["shipment.registered"]}).json["id"]
    for method, path in (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/rotate-secret"), ("POST", "/test"),
                         ("GET", "/deliveries"), ("POST", "/deliveries/redeliver-failed")):
        body = {"active": False} if method == "PATCH" else None
        assert client.open(f"/api/v1/webhooks/{sid}{path}", method=method, headers=stranger, json=body).status_code == 404
        assert client.open(f"/api/v1/webhooks/{sid}{path}", method=method, headers=official, json=body).status_code == 403
        assert client.open(f"/api/v1/webhooks/{sid}{path}", method=method, json=body).status_code == 401
    assert client.get("/api/v1/webhooks", headers=stranger).json == []


def test_disable_enable_rotate_and_delete(client, db_session, token):
    _org, headers = token()
    created = client.post("/api/v1/webhooks", headers=headers, json={"url": URL, "events": ["shipment.registered"]}).json
    path = f"/api/v1/webhooks/{created['id']}"
    off = client.patch(path, headers=headers, json={"active": False}).json
    assert (off["active"], off["disabled_reason"]) == (False, "manual")
    on = client.patch(path, headers=headers, json={"active": True, "events": ["shipment.exception"]}).json
    assert (on["active"], on["disabled_reason"], on["events"]) == (True, None, ["shipment.exception"])
    rotated = client.post(f"{path}/rotate-secret", headers=headers).json
    stored = db_session.get(WebhookSubscription, created["id"])
    assert rotated["secret"] != created["secret"] and stored.secret == rotated["secret"]
    assert stored.previous_secret == created["secret"] and rotated["previous_secret_until"]
    assert client.delete(path, headers=headers).status_code == 204
    assert db_session.get(WebhookSubscription, created["id"]) is None
    assert client.get(path, headers=headers).status_code == 404


def test_send_test_log_and_redeliver(app, client, db_session, token, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    receiver = Receiver(status=404)
    base, stop = serve(receiver)
    try:
        _org, headers = token()
        created = client.post("/api/v1/webhooks", headers=headers,
                              json={"url": base + "/hook", "events": ["shipment.registered"]}).json
        receiver.secret = created["secret"]
        path = f"/api/v1/webhooks/{created['id']}"
        queued = [client.post(f"{path}/test", headers=headers) for _ in range(3)]
        assert {r.status_code for r in queued} == {202}
        assert queued[0].json["event"] == "webhook.test" and queued[0].json["state"] == "pending"
        delivery.deliver_once(db_session, app.config)
        assert len(receiver.requests) == 3 and receiver.bad_signatures == 0

        page = client.get(f"{path}/deliveries?limit=2", headers=headers).json
        assert [d["id"] for d in page["items"]] == sorted((q.json["id"] for q in queued), reverse=True)[:2]
        assert {(d["state"], d["last_status_code"], d["attempts"]) for d in page["items"]} == {("failed", 404, 1)}
        assert page["items"][0]["last_duration_ms"] is not None
        rest = client.get(f"{path}/deliveries?limit=2&before={page['next_before']}", headers=headers).json
        assert [d["id"] for d in rest["items"]] == [queued[0].json["id"]] and rest["next_before"] is None

        one = client.post(f"{path}/deliveries/{queued[0].json['id']}/redeliver", headers=headers)
        assert one.json == {"queued": 1}
        assert db_session.get(WebhookDelivery, queued[0].json["id"]).state == DeliveryState.PENDING
        assert client.post(f"{path}/deliveries/redeliver-failed", headers=headers).json == {"queued": 2}
        receiver.status = 200
        delivery.deliver_once(db_session, app.config)
        states = db_session.scalars(select(WebhookDelivery.state)
                                    .where(WebhookDelivery.subscription_id == created["id"])).all()
        assert states == [DeliveryState.DELIVERED] * 3
        assert client.post(f"{path}/deliveries/999999/redeliver", headers=headers).status_code == 404
    finally:
        stop()


def test_registration_through_the_api_queues_shipment_registered(client, db_session, token):
    _org, headers = token()
    created = client.post("/api/v1/webhooks", headers=headers, json={"url": URL, "events": ["shipment.registered"]}).json
    assert client.post("/api/v1/shipments", headers=headers, json={"number": "SBX7700000001"}).status_code == 201
    assert client.post("/api/v1/shipments", headers=headers, json={"number": "SBX7700000001"}).status_code == 200
    bulk = client.post("/api/v1/shipments/bulk", headers=headers,
                       json=[{"number": "SBX7700000002"}, {"number": "SBX7700000003"}, {"number": "SBX7700000001"}])
    assert bulk.json["created"] == 2
    rows = db_session.scalars(select(WebhookDelivery).where(WebhookDelivery.subscription_id == created["id"])).all()
    assert sorted(r.event for r in rows) == ["shipment.registered"] * 3
    assert len({r.shipment_id for r in rows}) == 3


def test_openapi_documents_the_signature(client):
    spec = client.get("/api/docs/openapi.json").json
    tag = next(t for t in spec["tags"] if t["name"] == "webhooks")
    assert "X-Yuexiang-Signature" in tag["description"] and "HMAC-SHA256" in tag["description"]
    assert "/api/v1/webhooks/{subscription_id}/deliveries" in spec["paths"]
