"""POST /api/v1/integrations/<provider>/push: signature is the auth, same apply path as polling."""
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shipments.db import utcnow
from shipments.models import TrackingEvent
from shipments.models.enums import EventSource, ShipmentStatus, StopReason, SubscriptionState
from tests.fakes import kuaidi100 as k100
from tests.fakes import seventeentrack as st


@pytest.fixture
def push_config(app, monkeypatch):
    for key, value in {"KUAIDI100_KEY": k100.KEY, "KUAIDI100_CUSTOMER": k100.CUSTOMER, "KUAIDI100_SALT": k100.SALT,
                       "SEVENTEENTRACK_TOKEN": st.TOKEN}.items():
        monkeypatch.setitem(app.config, key, value)


@pytest.fixture
def subscribed(create_shipment):
    def make(number, carrier="yto", provider="kuaidi100"):
        return create_shipment(carrier=carrier, provider=provider, tracking_number=number,
                               registered_at=utcnow() - timedelta(days=1), next_poll_at=utcnow() + timedelta(hours=3),
                               subscription_state=SubscriptionState.SUBSCRIBED, subscribed_at=utcnow())
    return make


def events(db_session, shipment):
    return db_session.scalars(select(TrackingEvent).where(TrackingEvent.shipment_id == shipment.id)).all()


def post_k100(client, body, headers):
    return client.post("/api/v1/integrations/kuaidi100/push", data=body, headers=headers)


def test_kuaidi100_push_is_applied_and_answered_exactly(client, db_session, push_config, subscribed):
    shipment = subscribed("YT6000000000001")
    body, headers = k100.make_push(shipment.tracking_number, "delivered")
    response = post_k100(client, body, headers)
    assert response.status_code == 200
    assert json.loads(response.data) == {"result": True, "returnCode": "200", "message": "成功"}
    db_session.expire_all()
    assert shipment.status == ShipmentStatus.DELIVERED and shipment.stop_reason == StopReason.DELIVERED
    assert shipment.last_push_at is not None and shipment.delivered_at is not None
    stored = events(db_session, shipment)
    assert len(stored) == 7 and {e.source for e in stored} == {EventSource.PUSH}


def test_repeated_and_late_pushes_are_idempotent(client, db_session, push_config, subscribed):
    shipment = subscribed("YT6000000000002")
    for scenario in ("delivered", "delivered", "in_transit"):  # a retry, then a late, older push
        body, headers = k100.make_push(shipment.tracking_number, scenario)
        assert post_k100(client, body, headers).status_code == 200
    db_session.expire_all()
    assert len(events(db_session, shipment)) == 7
    assert shipment.status == ShipmentStatus.DELIVERED


@pytest.mark.parametrize("sign", ["", "0" * 32])
def test_bad_or_missing_signature_changes_nothing_and_says_failure(client, db_session, push_config, subscribed, sign):
    shipment = subscribed("YT6000000000003")
    body, headers = k100.make_push(shipment.tracking_number, "delivered", sign=sign)
    response = post_k100(client, body, headers)
    assert json.loads(response.data) == {"result": False, "returnCode": "500", "message": "失败"}
    db_session.expire_all()
    assert shipment.status == ShipmentStatus.PENDING and shipment.last_push_at is None
    assert events(db_session, shipment) == []


def test_push_for_unknown_number_is_acknowledged(client, db_session, push_config):
    body, headers = k100.make_push("YT6999999999999", "delivered")
    response = post_k100(client, body, headers)
    assert json.loads(response.data)["result"] is True  # else the provider retries forever
    assert db_session.scalar(select(func.count()).select_from(TrackingEvent)) == 0


def test_17track_webhook(client, db_session, push_config, subscribed):
    shipment = subscribed("9800000000017", carrier="chinapost", provider="17track")
    body, headers = st.make_webhook(shipment.tracking_number, "station")
    response = client.post("/api/v1/integrations/17track/push", data=body, headers=headers)
    assert response.status_code == 200 and response.data == b'{"code":0}'
    db_session.expire_all()
    assert shipment.status == ShipmentStatus.AVAILABLE_FOR_PICKUP and shipment.at_station is True
    bad_body, bad_headers = st.make_webhook(shipment.tracking_number, "delivered", sign="f" * 64)
    rejected = client.post("/api/v1/integrations/17track/push", data=bad_body, headers=bad_headers)
    assert rejected.status_code == 403  # a bad signature is refused, never a 500
    db_session.expire_all()
    assert shipment.status == ShipmentStatus.AVAILABLE_FOR_PICKUP


@pytest.mark.parametrize("provider", ["sandbox", "kdniao", "nosuch", "me"])
def test_unknown_or_disabled_push_provider_is_404(client, push_config, provider):
    response = client.post(f"/api/v1/integrations/{provider}/push", data=b"x=1")
    assert response.status_code == 404
    assert response.get_json()["code"] == 404
