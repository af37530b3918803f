"""Portal: carrier alerts (a count and a list), list filters, cancelling a registration (issue 10)."""
from datetime import timedelta

from sqlalchemy import select

from shipments.db import utcnow
from shipments.models import Shipment
from shipments.models.enums import ShipmentStatus, StopReason, TrackingAlert
from tests.web.conftest import csrf_token


def test_alerts_are_counted_and_listed(member_client, member, create_shipment):
    org = member.organisation
    create_shipment(organisation=org, tracking_number="SBX9300000001", tracking_alert=TrackingAlert.NO_RECORD_YET,
                    tracking_alert_at=utcnow())
    create_shipment(organisation=org, tracking_number="SBX9300000002")
    page = member_client.get("/portal/").get_data(as_text=True)
    assert 'data-testid="alerts"' in page and "1 个包裹需要查看" in page
    listed = member_client.get("/portal/?flag=alert").get_data(as_text=True)
    assert "SBX9300000001" in listed and "SBX9300000002" not in listed
    detail = member_client.get("/portal/shipments/sandbox/SBX9300000001").get_data(as_text=True)
    assert 'data-testid="tracking-alert"' in detail and "快递公司暂无该单号记录" in detail


def test_list_filters_needs_phone_expired_pickup_overdue_and_stalled(member_client, member, create_shipment):
    org, now = member.organisation, utcnow()
    made = {
        "needs_phone": create_shipment(organisation=org, tracking_number="SBX9400000001",
                                       stop_reason=StopReason.NEEDS_PHONE, next_poll_at=None,
                                       registered_at=now - timedelta(hours=1)),
        "expired": create_shipment(organisation=org, tracking_number="SBX9400000002", status=ShipmentStatus.EXPIRED,
                                   registered_at=now - timedelta(days=40)),
        "pickup_overdue": create_shipment(organisation=org, tracking_number="SBX9400000003", pickup_overdue_at=now,
                                          registered_at=now - timedelta(hours=30)),
        "stalled": create_shipment(organisation=org, tracking_number="SBX9400000004", status=ShipmentStatus.IN_TRANSIT,
                                   last_event_at=now - timedelta(hours=60), registered_at=now - timedelta(days=3)),
    }
    fresh = create_shipment(organisation=org, tracking_number="SBX9400000005", status=ShipmentStatus.IN_TRANSIT,
                            last_event_at=now - timedelta(hours=2))
    for flag, shipment in made.items():
        page = member_client.get(f"/portal/?flag={flag}").get_data(as_text=True)
        shown = {s.tracking_number for s in made.values() if s.tracking_number in page}
        assert shown == {shipment.tracking_number}, flag
        assert fresh.tracking_number not in page


def test_cancel_from_the_detail_page(member_client, member, create_shipment, db_session):
    shipment = create_shipment(organisation=member.organisation, tracking_number="SBX9500000001")
    page = f"/portal/shipments/sandbox/{shipment.tracking_number}"
    assert member_client.post(page + "/cancel", data={"reason": "", "csrf_token": csrf_token(member_client, page)}
                              ).status_code == 400
    response = member_client.post(page + "/cancel", data={"reason": "订单已退款",
                                                          "csrf_token": csrf_token(member_client, page)})
    assert response.status_code == 303
    db_session.expire_all()
    stored = db_session.scalar(select(Shipment).where(Shipment.id == shipment.id))
    assert stored.status == ShipmentStatus.CANCELLED and stored.cancel_reason == "订单已退款"
    assert stored.next_poll_at is None and stored.stop_reason == StopReason.CANCELLED
    detail = member_client.get(page).get_data(as_text=True)
    assert "订单已退款" in detail and 'data-testid="cancel-form"' not in detail


def test_the_edit_form_shows_the_province_by_name_and_saves_it_unchanged(member_client, member, create_shipment,
                                                                         db_session):
    shipment = create_shipment(organisation=member.organisation, tracking_number="SBX9500000002",
                               destination_province_code="110000", pieces=2)
    page = f"/portal/shipments/sandbox/{shipment.tracking_number}"
    form = member_client.get(page).get_data(as_text=True).split('data-testid="cancel-form"')[0]
    assert 'name="destination_province" type="text" value="北京市"' in form and 'value="110000"' not in form
    saved = member_client.post(page, data={"destination_province": "北京市", "pieces": "3", "channel": "douyin",
                                           "direction": "outbound", "program_id": "",
                                           "csrf_token": csrf_token(member_client, page)})
    assert saved.status_code == 303, saved.get_data(as_text=True)[-2000:]
    db_session.expire_all()
    stored = db_session.get(type(shipment), shipment.id)
    assert stored.destination_province_code == "110000" and stored.pieces == 3
