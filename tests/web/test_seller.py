"""Seller workspace: paste numbers, table grouped by session, problems first, Excel export."""
import io
import re
from datetime import datetime, timezone

from openpyxl import load_workbook
from sqlalchemy import func, select

from shipments.models import Shipment
from shipments.models.enums import ShipmentStatus
from tests.web.conftest import csrf_token

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=timezone.utc)


def check(client, **data):
    return client.post("/seller/", data={**data, "csrf_token": csrf_token(client, "/seller/")},
                       content_type="multipart/form-data")


def test_pasted_numbers_are_registered_under_the_session_label(member_client, member, db_session):
    response = check(member_client, label="11-20 晚场", numbers="SBX2000000001\nSBX2000000002, SBX2000000001；bad")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    # The repeat is not dropped silently: it is a problem row, and the summary says how many.
    assert re.search(r"共 4 个单号：新登记 2 个，已登记 0 个，有问题 2 个", page) and "其中 1 个单号重复粘贴" in page
    labels = db_session.scalars(select(Shipment.batch_label).where(Shipment.organisation_id == member.organisation_id))
    assert set(labels) == {"11-20 晚场"}
    parcels = page[page.index('data-testid="parcels"'):]
    assert re.findall(r"<code>(SBX\d+)</code>", parcels) == ["SBX2000000001", "SBX2000000002"]


def test_more_than_the_limit_is_refused_and_nothing_written(app, member_client, member, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "SELLER_MAX_NUMBERS", 3)
    response = check(member_client, label="x", numbers=" ".join(f"SBX30000000{i:02d}" for i in range(4)))
    assert response.status_code == 400 and "一次最多 3 个单号" in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(Shipment)
                             .where(Shipment.organisation_id == member.organisation_id)) == 0


def test_order_export_upload_uses_the_label(member_client, member, db_session):
    body = "订单编号,快递单号,快递公司\nDY1,SBX4000000001,sandbox\nDY2,SBX4000000002,sandbox\n".encode()
    response = check(member_client, label="早场", numbers="", file=(io.BytesIO(body), "orders.csv"))
    assert response.status_code == 200
    rows = db_session.execute(select(Shipment.order_ref, Shipment.batch_label)
                              .where(Shipment.organisation_id == member.organisation_id)).all()
    assert sorted(rows) == [("DY1", "早场"), ("DY2", "早场")]


def test_table_groups_and_puts_late_and_problem_parcels_first(member_client, member, create_shipment):
    org = member.organisation
    create_shipment(organisation=org, batch_label="S1", tracking_number="SBX5000000001",
                    status=ShipmentStatus.DELIVERED)
    create_shipment(organisation=org, batch_label="S1", tracking_number="SBX5000000002",
                    status=ShipmentStatus.PENDING, pickup_overdue_at=NOW)
    create_shipment(organisation=org, batch_label="S1", tracking_number="SBX5000000003",
                    status=ShipmentStatus.AVAILABLE_FOR_PICKUP)
    create_shipment(organisation=org, batch_label="S1", tracking_number="SBX5000000004",
                    status=ShipmentStatus.IN_TRANSIT, late_flagged_at=NOW)
    create_shipment(organisation=org, batch_label="S1", tracking_number="SBX5000000005",
                    status=ShipmentStatus.EXCEPTION)
    create_shipment(organisation=org, batch_label="S2", tracking_number="SBX5000000006")
    page = member_client.get("/seller/?label=S1").get_data(as_text=True)
    order = re.findall(r"<code>(SBX\d+)</code>", page)
    assert order[:3] == ["SBX5000000004", "SBX5000000002", "SBX5000000005"]  # late, overdue, exception
    assert set(order[3:]) == {"SBX5000000001", "SBX5000000003"} and "SBX5000000006" not in order
    counts = dict(re.findall(r'data-group="(\w+)">(\d+)<', page))
    assert counts == {"awaiting_pickup": "1", "in_transit": "1", "out_for_delivery": "0", "at_station": "1",
                      "delivered": "1", "exception": "1"}
    assert "超时未揽收：1" in page


def test_another_organisations_session_is_not_shown(member_client, create_shipment, create_organisation):
    create_shipment(organisation=create_organisation(), batch_label="S1", tracking_number="SBX6000000001")
    page = member_client.get("/seller/?label=S1").get_data(as_text=True)
    assert "SBX6000000001" not in page


def test_export_to_excel_has_the_sessions_rows(member_client, member, create_shipment):
    create_shipment(organisation=member.organisation, batch_label="S1", tracking_number="SBX7000000001",
                    order_ref="DY9", status=ShipmentStatus.EXCEPTION, phone_last4="5678")
    response = member_client.get("/seller/export.xlsx?label=S1")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "直播场次包裹：S1"  # title, then the note with units
    assert rows[2][:4] == ("直播场次", "运单号", "快递企业", "订单号")
    assert rows[3][:6] == ("S1", "SBX7000000001", "越乡模拟快递", "DY9", "异常", "包裹异常")
    assert rows[-1][:2] == ("合计", "1 票")
    assert all("5678" not in str(cell) for row in rows for cell in row)  # no phone digits in exports


def test_pasted_duplicates_are_reported_with_their_number(member_client, member):
    response = member_client.post("/seller/", data={
        "label": "12-01 早场", "numbers": "SBX5600000001\nSBX5600000002\nSBX5600000001",
        "csrf_token": csrf_token(member_client, "/seller/")})
    page = response.get_data(as_text=True)
    assert "其中 1 个单号重复粘贴" in page
    assert re.search(r'<td class="num">3</td><td><code>SBX5600000001</code></td><td class="wrap">[^<]*第 1 行', page)
