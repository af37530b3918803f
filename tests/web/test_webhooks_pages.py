"""/portal/webhooks: subscribe, see the secret once, switch on and off, test, the log, redeliver; access."""
import re

import pytest
from sqlalchemy import select

from shipments.db import utcnow
from shipments.models import WebhookDelivery, WebhookSubscription
from shipments.models.enums import DeliveryState, Role
from shipments.services.webhooks import subscriptions
from tests.web.conftest import csrf_token, login

URL = "https://93.184.215.14/hook"


def add(client, **data):
    data = {"url": URL, "events": ["shipment.registered", "shipment.status_changed"], **data}
    return client.post("/portal/webhooks/", data={**data, "csrf_token": csrf_token(client, "/portal/webhooks/")})


def test_subscribe_shows_the_secret_once(member_client, member, db_session):
    response = add(member_client, statuses=["delivered"], description="有赞店铺")
    page = response.get_data(as_text=True)
    assert response.status_code == 201
    subscription = db_session.scalar(select(WebhookSubscription).where(
        WebhookSubscription.organisation_id == member.organisation_id))
    assert (subscription.url, subscription.statuses, subscription.description) == (URL, ["delivered"], "有赞店铺")
    assert subscription.secret in page and "只显示这一次" in page
    listing = member_client.get("/portal/webhooks/").get_data(as_text=True)
    assert URL in listing and subscription.secret not in listing
    shown = re.sub(r"<[^>]+>", " ", listing)  # the text on screen, without tags and attributes
    assert "运单状态变化" in shown and "shipment.status_changed" not in shown  # words, not codes


def test_a_refused_address_names_the_field(member_client, db_session):
    response = add(member_client, url="http://10.0.0.8/hook")
    assert response.status_code == 400
    assert "拒绝" in response.get_data(as_text=True)
    assert db_session.scalar(select(WebhookSubscription)) is None


def test_switch_off_on_test_rotate_log_redeliver_delete(member_client, member, db_session):
    add(member_client)
    subscription = db_session.scalar(select(WebhookSubscription).where(
        WebhookSubscription.organisation_id == member.organisation_id))
    old_secret = subscription.secret
    base = f"/portal/webhooks/{subscription.id}"

    def post(path, **data):
        return member_client.post(path, data={**data, "csrf_token": csrf_token(member_client, "/portal/webhooks/")})

    assert post(f"{base}/disable").status_code == 303
    assert db_session.get(WebhookSubscription, subscription.id).active is False
    post(f"{base}/enable")
    assert db_session.get(WebhookSubscription, subscription.id).active is True
    post(f"{base}/test")
    [delivery] = db_session.scalars(select(WebhookDelivery)).all()
    assert delivery.event == "webhook.test"
    rotated = post(f"{base}/rotate").get_data(as_text=True)
    fresh = db_session.get(WebhookSubscription, subscription.id)
    assert fresh.secret != old_secret and fresh.secret in rotated and fresh.previous_secret == old_secret

    delivery.state, delivery.attempts, delivery.last_status_code, delivery.last_duration_ms = (
        DeliveryState.FAILED, 1, 410, 37)
    delivery.last_attempt_at = utcnow()
    db_session.flush()
    log = member_client.get(base).get_data(as_text=True)
    assert "测试事件" in log and "410" in log and "37 毫秒" in log and delivery.event_id in log
    assert post(f"{base}/redeliver", delivery_id=str(delivery.id)).status_code == 303
    assert db_session.get(WebhookDelivery, delivery.id).state == DeliveryState.PENDING
    post(f"{base}/delete")
    assert db_session.get(WebhookSubscription, subscription.id) is None


def test_another_organisation_gets_404_and_officials_403(client, create_user, db_session):
    owner, stranger, official = create_user(Role.MEMBER), create_user(Role.MEMBER), create_user(Role.OFFICIAL)
    subscription, _ = subscriptions.create_subscription(
        db_session, owner.organisation_id, url=URL, events=["shipment.registered"], config={"TESTING": True},
        now=utcnow())
    login(client, stranger)
    assert client.get(f"/portal/webhooks/{subscription.id}").status_code == 404
    token = csrf_token(client, "/portal/webhooks/")
    assert client.post(f"/portal/webhooks/{subscription.id}/delete", data={"csrf_token": token}).status_code == 404
    assert URL not in client.get("/portal/webhooks/").get_data(as_text=True)
    assert db_session.get(WebhookSubscription, subscription.id) is not None
    client.post("/logout", data={"csrf_token": token})
    login(client, official)
    assert client.get("/portal/webhooks/").status_code == 403


def test_an_auto_disabled_subscription_is_announced(member_client, member, db_session):
    subscription, _ = subscriptions.create_subscription(
        db_session, member.organisation_id, url=URL, events=["shipment.registered"], config={"TESTING": True},
        now=utcnow())
    subscription.active, subscription.disabled_reason, subscription.disabled_at = False, "failing", utcnow()
    db_session.flush()
    page = member_client.get("/portal/webhooks/").get_data(as_text=True)
    notice = re.search(r'data-testid="disabled-notice">(.*?)</article>', page, re.S).group(1)
    assert URL in notice and "自动停用" in notice
