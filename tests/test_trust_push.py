"""Statuses never go backwards, events in instant order, pushes only with a secret, alerts (issue 10)."""
import json
from datetime import datetime, timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from shipments import create_app
from shipments.db import utcnow
from shipments.models import Shipment, TrackingEvent
from shipments.models.enums import ShipmentStatus, StopReason, SubscriptionState, TrackingAlert
from tests.fakes import kdniao as kdn
from tests.fakes import kuaidi100 as k100
from tests.fakes import seventeentrack as st


@pytest.fixture
def push_config(app, monkeypatch):
    for key, value in {"KUAIDI100_KEY": k100.KEY, "KUAIDI100_CUSTOMER": k100.CUSTOMER, "KUAIDI100_SALT": k100.SALT,
                       "SEVENTEENTRACK_TOKEN": st.TOKEN, "KDNIAO_EBUSINESS_ID": kdn.EBUSINESS_ID,
                       "KDNIAO_APP_KEY": kdn.APP_KEY}.items():
        monkeypatch.setitem(app.config, key, value)


@pytest.fixture
def subscribed(create_shipment):
    def make(number, carrier="yto", provider="kuaidi100", **values):
        values.setdefault("registered_at", utcnow() - timedelta(days=1))
        return create_shipment(carrier=carrier, provider=provider, tracking_number=number,
                               next_poll_at=utcnow() + timedelta(hours=3),
                               subscription_state=SubscriptionState.SUBSCRIBED, subscribed_at=utcnow(), **values)
    return make


def k100_push(number, steps, *, status="polling", message="", salt=k100.SALT):
    last = k100.track_body(number, "yuantong", "delivered", steps=steps) if steps else {
        "message": "", "nu": number, "com": "yuantong", "state": "0", "status": "200", "data": []}
    param = json.dumps({"status": status, "billstatus": "", "message": message, "autoCheck": "0",
                        "comOld": "", "comNew": "", "lastResult": last}, ensure_ascii=False)
    body = urlencode({"param": param, "sign": k100._md5u(param + salt)}).encode()
    return body, {"Content-Type": "application/x-www-form-urlencoded"}


def post(client, provider, body, headers):
    return client.post(f"/api/v1/integrations/{provider}/push", data=body, headers=headers)


def snapshot(db_session, shipment):
    db_session.expire_all()
    s = db_session.get(Shipment, shipment.id)
    return (s.status, s.substatus, s.stop_reason, s.next_poll_at, s.delivered_at)


def event_count(db_session, shipment):
    return len(db_session.scalars(select(TrackingEvent).where(TrackingEvent.shipment_id == shipment.id)).all())


def test_a_later_out_for_delivery_after_delivered_changes_nothing_but_the_timeline(client, db_session, push_config,
                                                                                     subscribed):
    shipment = subscribed("YT6100000000001")
    delivered = k100.story("delivered")
    assert post(client, "kuaidi100", *k100_push(shipment.tracking_number, delivered)).status_code == 200
    before = snapshot(db_session, shipment)
    assert before[0] == ShipmentStatus.DELIVERED and before[2] == StopReason.DELIVERED
    events_before = event_count(db_session, shipment)
    signed_at = datetime.strptime(delivered[-1][0], "%Y-%m-%d %H:%M:%S")
    later = (signed_at + timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S")
    reopened = delivered + [(later, "OUT", "快递员正在派件", "上海市")]
    assert post(client, "kuaidi100", *k100_push(shipment.tracking_number, reopened)).status_code == 200
    assert snapshot(db_session, shipment) == before
    assert event_count(db_session, shipment) == events_before + 1  # kept in the timeline
    # A return may follow a delivery.
    returning = reopened + [((signed_at + timedelta(hours=9)).strftime("%Y-%m-%d %H:%M:%S"), "RETURNING",
                             "快件退回中", "上海市")]
    post(client, "kuaidi100", *k100_push(shipment.tracking_number, returning))
    assert snapshot(db_session, shipment)[0] == ShipmentStatus.RETURNING


def test_events_are_applied_in_instant_order_whatever_order_they_arrive(client, db_session, push_config, subscribed):
    first, second = subscribed("YT6100000000002"), subscribed("YT6100000000003")
    story = k100.story("delivered")
    out = story[:-1] + [(story[-1][0], "OUT", "快递员正在派件", "上海市")]
    # Newest first for one parcel, oldest first for the other: both end delivered.
    for body in (k100_push(first.tracking_number, story), k100_push(first.tracking_number, out)):
        post(client, "kuaidi100", *body)
    for body in (k100_push(second.tracking_number, out), k100_push(second.tracking_number, story)):
        post(client, "kuaidi100", *body)
    assert snapshot(db_session, first)[0] == snapshot(db_session, second)[0] == ShipmentStatus.DELIVERED


@pytest.mark.parametrize("salt", ["", "guessed-salt"])
def test_a_forged_kuaidi100_push_is_refused_and_changes_nothing(app, client, db_session, push_config, subscribed,
                                                                 monkeypatch, salt):
    shipment = subscribed("YT6100000000004")
    before = snapshot(db_session, shipment)
    if salt == "":
        monkeypatch.setitem(app.config, "KUAIDI100_SALT", None)  # MD5(param + "") needs no secret
    response = post(client, "kuaidi100", *k100_push(shipment.tracking_number, k100.story("delivered"), salt=salt))
    assert response.status_code == 403
    assert snapshot(db_session, shipment) == before and event_count(db_session, shipment) == 0
    db_session.expire_all()
    assert db_session.get(Shipment, shipment.id).last_push_at is None


def test_refuses_to_start_with_kuaidi100_pushes_but_no_salt():
    settings = {"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://", "KUAIDI100_KEY": "k",
                "KUAIDI100_CUSTOMER": "c", "PUBLIC_BASE_URL": "https://yx.example.cn"}
    with pytest.raises(ValueError, match="KUAIDI100_SALT"):
        create_app(settings)
    create_app({**settings, "KUAIDI100_SALT": "s"})  # with the salt it starts
    create_app({**settings, "PUBLIC_BASE_URL": None})  # no pushes: polling only


def test_kdniao_push_checks_request_type(client, db_session, push_config, subscribed):
    shipment = subscribed("YT6100000000005", provider="kdniao")
    body, headers = kdn.make_push({shipment.tracking_number: "delivered"})
    cod = body.replace(b"RequestType=101", b"RequestType=107")
    assert post(client, "kdniao", cod, headers).status_code == 200  # acknowledged, not a tracking result
    assert snapshot(db_session, shipment)[0] == ShipmentStatus.PENDING
    missing = body.replace(b"&RequestType=101", b"")
    assert post(client, "kdniao", missing, headers).status_code == 403
    assert post(client, "kdniao", body, headers).status_code == 200
    assert snapshot(db_session, shipment)[0] == ShipmentStatus.DELIVERED


def test_bad_webhook_signatures_answer_403_never_500(client, db_session, push_config, subscribed):
    shipment = subscribed("9800000000018", carrier="chinapost", provider="17track")
    body, headers = st.make_webhook(shipment.tracking_number, "delivered", sign="f" * 64)
    assert post(client, "17track", body, headers).status_code == 403
    body, headers = kdn.make_push({"YT6100000000006": "delivered"}, data_sign="x")
    assert post(client, "kdniao", body, headers).status_code == 403
    assert snapshot(db_session, shipment)[0] == ShipmentStatus.PENDING


def test_tracking_aborted_raises_an_alert_and_resubscribes_no_sooner_than_30_minutes(client, db_session, push_config,
                                                                                     subscribed):
    shipment = subscribed("YT6100000000007", registered_at=utcnow() - timedelta(days=4))
    before = utcnow()
    body = k100_push(shipment.tracking_number, [], status="abort", message="3天查询无记录")
    assert post(client, "kuaidi100", *body).status_code == 200
    db_session.expire_all()
    s = db_session.get(Shipment, shipment.id)
    assert s.tracking_alert == TrackingAlert.NO_RECORD_YET and s.tracking_alert_at >= before
    assert s.subscription_state == SubscriptionState.NONE
    assert s.next_poll_at >= before + timedelta(minutes=30)
    other = subscribed("YT6100000000008")
    post(client, "kuaidi100", *k100_push(other.tracking_number, k100.story("in_transit"), status="abort",
                                         message="60天无变化"))
    db_session.expire_all()
    assert db_session.get(Shipment, other.id).tracking_alert == TrackingAlert.TRACKING_ABORTED
    # News clears the alert.
    post(client, "kuaidi100", *k100_push(other.tracking_number, k100.story("delivered")))
    db_session.expire_all()
    assert db_session.get(Shipment, other.id).tracking_alert is None
