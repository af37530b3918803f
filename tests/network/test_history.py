"""The edit history (绩效可追): every change through PATCH, the portal form, a seller paste, a re-upload or a
cancellation writes who, when, field, old → new and source; shown on the shipment pages (masked for
officials) and in GET …/history (both databases)."""
import io

import pytest
from sqlalchemy import select

from shipments.models import ShipmentChange
from shipments.models.enums import Channel, Role, ShipmentStatus
from shipments.services import access
from tests.web.conftest import create_user, csrf_token, login  # noqa: F401  (create_user: a fixture)


@pytest.fixture
def owner(db_session, create_organisation, create_program, create_shipment):
    org = create_organisation(name="历史测试合作社")
    program = create_program(organisations=[org])
    token = access.create_token(db_session, org, Role.MEMBER, "erp")
    parcel = create_shipment(organisation=org, program=program, tracking_number="SBX7700000001", pieces=1,
                             channel=Channel.DOUYIN, order_ref="DY-SECRET-1", phone_last4="1111")
    return {"org": org, "program": program, "token": token, "parcel": parcel,
            "headers": {"Authorization": f"Bearer {token}"}}


def changes(db_session, shipment_id):
    return [(c.source, c.field, c.old_value, c.new_value) for c in db_session.scalars(
        select(ShipmentChange).where(ShipmentChange.shipment_id == shipment_id).order_by(ShipmentChange.id))]


def test_patch_and_cancel_through_the_api_write_history_read_back_newest_first(client, db_session, owner, auth):
    path = "/api/v1/shipments/sandbox/SBX7700000001"
    patched = client.patch(path, json={"pieces": 3, "phone_last4": "2222", "channel": "douyin"},
                           headers=owner["headers"])
    assert patched.status_code == 200, patched.json
    # An unchanged value (the channel) writes nothing; a refused edit writes nothing either.
    assert client.patch(path, json={"pieces": 0}, headers=owner["headers"]).status_code == 422
    cancelled = client.delete(path, json={"reason": "买家退款"}, headers=owner["headers"])
    assert cancelled.status_code == 200, cancelled.json
    shipment_id = owner["parcel"].id
    assert changes(db_session, shipment_id) == [
        ("api", "pieces", "1", "3"), ("api", "phone_last4", "1111", "2222"),
        ("api", "status", "pending", "cancelled"), ("api", "cancel_reason", None, "买家退款")]
    token_id = db_session.scalar(select(ShipmentChange.token_id).where(ShipmentChange.shipment_id == shipment_id)
                                 .limit(1))
    assert token_id is not None

    mine = client.get(path + "/history", headers=owner["headers"])
    assert mine.status_code == 200, mine.json
    items = mine.json["items"]
    assert [i["field"] for i in items] == ["cancel_reason", "status", "phone_last4", "pieces"]
    assert items[2]["old"] == "1111" and items[2]["new"] == "2222" and items[0]["source"] == "api"
    assert items[0]["token"].startswith("erp (yx_") and items[0]["user"] is None
    official = client.get(path + "/history", headers=auth(Role.OFFICIAL)).json["items"]
    assert [(i["field"], i["old"], i["new"]) for i in official][2:] == [("phone_last4", "***", "***"),
                                                                        ("pieces", "1", "3")]
    stranger = auth(Role.MEMBER)
    assert client.get(path + "/history", headers=stranger).status_code == 404
    assert client.get(path + "/history").status_code == 401


def test_portal_form_and_cancel_write_history_shown_on_the_pages(client, db_session, owner, create_user):
    user = create_user(organisation=owner["org"])
    login(client, user)
    page = "/portal/shipments/sandbox/SBX7700000001"
    form = {"phone_last4": "", "channel": "kuaishou", "direction": "outbound", "pieces": "2", "order_ref": "DY-SECRET-2",
            "program_id": str(owner["program"].id), "csrf_token": csrf_token(client, page)}
    assert client.post(page, data=form).status_code == 303
    assert client.post(page + "/cancel", data={"reason": "重复登记", "csrf_token": form["csrf_token"]}).status_code == 303
    shipment_id = owner["parcel"].id
    assert changes(db_session, shipment_id) == [
        ("form", "channel", "douyin", "kuaishou"), ("form", "pieces", "1", "2"),
        ("form", "order_ref", "DY-SECRET-1", "DY-SECRET-2"),
        ("form", "status", "pending", "cancelled"), ("form", "cancel_reason", None, "重复登记")]
    assert set(db_session.scalars(select(ShipmentChange.user_id).where(ShipmentChange.shipment_id == shipment_id))) \
        == {user.id}
    text = client.get(page).get_data(as_text=True)
    assert 'data-testid="history"' in text and "DY-SECRET-2" in text and user.username in text
    client.post("/logout", data={"csrf_token": form["csrf_token"]})

    officials = client.application.test_client()
    login(officials, create_user(Role.OFFICIAL))
    masked = officials.get("/dashboard/network/shipment/sandbox/SBX7700000001")
    assert masked.status_code == 200
    masked_text = masked.get_data(as_text=True)
    assert 'data-testid="history"' in masked_text and "DY-SECRET" not in masked_text and "***" in masked_text
    assert "重复登记" in masked_text


def test_digits_added_by_a_seller_paste_or_a_re_upload_are_in_the_history(client, db_session, owner,
                                                                          create_shipment, create_user):
    pasted = create_shipment(organisation=owner["org"], carrier="sf", tracking_number="SF1000000000881",
                             phone_last4=None, status=ShipmentStatus.PENDING)
    uploaded = create_shipment(organisation=owner["org"], carrier="sf", tracking_number="SF1000000000882",
                               phone_last4=None, status=ShipmentStatus.PENDING)
    user = create_user(organisation=owner["org"])
    login(client, user)
    response = client.post("/seller/", data={"label": "", "numbers": "SF1000000000881 4321",
                                             "csrf_token": csrf_token(client, "/seller/")},
                           content_type="multipart/form-data")
    assert response.status_code == 200
    csv = "运单号,快递公司,手机尾号\nSF1000000000882,顺丰,8765\n".encode()
    again = client.post("/api/v1/shipments/bulk", data={"file": (io.BytesIO(csv), "again.csv")},
                        headers=owner["headers"], content_type="multipart/form-data")
    assert again.status_code == 200 and again.json["updated"] == 1, again.json
    assert changes(db_session, pasted.id) == [("paste", "phone_last4", None, "4321")]
    assert changes(db_session, uploaded.id) == [("import", "phone_last4", None, "8765")]
    who = db_session.execute(select(ShipmentChange.user_id, ShipmentChange.token_id)
                             .where(ShipmentChange.shipment_id.in_([pasted.id, uploaded.id]))
                             .order_by(ShipmentChange.shipment_id)).all()
    assert who[0] == (user.id, None) and who[1][0] is None and who[1][1] is not None
