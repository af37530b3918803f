"""Organisation portal: register, carrier suggestion, list, detail, upload with preview."""
import csv
import io
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from shipments.models import Shipment, TrackingEvent
from shipments.models.enums import EventSource, Role, ShipmentStatus, StopReason
from tests.web.conftest import csrf_token, login


def count_shipments(db_session, **where) -> int:
    return db_session.scalar(select(func.count()).select_from(Shipment).filter_by(**where))


def test_register_detects_the_carrier_and_shows_the_shipment(member_client, member, db_session):
    response = member_client.post("/portal/register", data={
        "number": "sbx 0000 0000 77", "carrier": "", "channel": "douyin", "direction": "outbound", "pieces": "2",
        "declared_value": "199.50", "csrf_token": csrf_token(member_client, "/portal/register")})
    assert response.status_code == 303
    shipment = db_session.scalar(select(Shipment).where(Shipment.tracking_number == "SBX000000007" + "7"))
    assert shipment.carrier == "sandbox" and shipment.organisation_id == member.organisation_id
    assert str(shipment.declared_value) == "199.50"
    page = member_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "SBX0000000077" in page and "¥199.50" in page


def test_register_names_the_field_at_fault(member_client, db_session):
    response = member_client.post("/portal/register", data={
        "number": "SF02458", "carrier": "", "channel": "other", "direction": "outbound",
        "csrf_token": csrf_token(member_client, "/portal/register")})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert re.search(r'id="number-error"[^>]*>[^<]*顺丰速运单号应为 SF 加 13 位字母数字', page)
    assert count_shipments(db_session, tracking_number="SF02458") == 0


def test_carrier_suggestion_answers_as_the_number_is_typed(member_client):
    answer = member_client.get("/portal/carrier-suggest?number=SF1000000000001").json
    assert answer[0]["carrier"] == "sf" and answer[0]["name"] == "顺丰速运" and answer[0]["needs_phone"] is True
    assert member_client.get("/portal/carrier-suggest?number=").json == []


def test_carrier_suggestion_needs_login(client):
    assert client.get("/portal/carrier-suggest?number=SF1000000000001").status_code == 302


def test_list_shows_only_own_shipments_and_filters(member_client, member, create_shipment, create_organisation):
    mine = create_shipment(organisation=member.organisation, status=ShipmentStatus.DELIVERED, order_ref="DY-1")
    create_shipment(organisation=member.organisation, status=ShipmentStatus.IN_TRANSIT)
    theirs = create_shipment(organisation=create_organisation())
    page = member_client.get("/portal/").get_data(as_text=True)
    assert mine.tracking_number in page and theirs.tracking_number not in page
    filtered = member_client.get("/portal/?status=delivered").get_data(as_text=True)
    assert re.findall(r"<code>(SBX\d+)</code>", filtered) == [mine.tracking_number]
    assert mine.tracking_number in member_client.get("/portal/?q=DY-1").get_data(as_text=True)


def test_list_pages_follow_a_cursor(app, member_client, member, create_shipment, monkeypatch):
    monkeypatch.setitem(app.config, "WEB_PAGE_SIZE", 2)
    base = datetime(2026, 11, 1, tzinfo=timezone.utc)
    numbers = [create_shipment(organisation=member.organisation, registered_at=base + timedelta(hours=i)).tracking_number
               for i in range(5)]
    seen, url = [], "/portal/"
    while url:
        page = member_client.get(url).get_data(as_text=True)
        seen += re.findall(r"<code>(SBX\d+)</code>", page)
        match = re.search(r'href="([^"]+)" rel="next"', page)
        url = match.group(1).replace("&amp;", "&") if match else None
    assert seen == list(reversed(numbers))


def test_detail_shows_events_and_poll_history(member_client, member, create_shipment, db_session):
    shipment = create_shipment(organisation=member.organisation, status=ShipmentStatus.EXCEPTION,
                               last_polled_at=datetime(2026, 11, 21, 1, 0, tzinfo=timezone.utc), poll_failures=3,
                               last_poll_error="timeout after 10 s", stop_reason=StopReason.NEEDS_PHONE)
    db_session.add(TrackingEvent(shipment=shipment, occurred_at=datetime(2026, 11, 20, 4, 0, tzinfo=timezone.utc),
                                 status=ShipmentStatus.IN_TRANSIT, description="快件已到达杭州转运中心",
                                 source=EventSource.POLL, dedupe_key="k1"))
    db_session.flush()
    page = member_client.get(f"/portal/shipments/sandbox/{shipment.tracking_number}").get_data(as_text=True)
    assert "快件已到达杭州转运中心" in page and "2026-11-20 12:00" in page  # Beijing time
    poll = page.split('data-testid="poll-state"')[1]
    assert "2026-11-21 09:00" in poll and "timeout after 10 s" in poll and ">3<" in poll and "需要手机尾号" in poll


def test_detail_of_another_organisations_shipment_is_404(member_client, create_shipment, create_organisation):
    theirs = create_shipment(organisation=create_organisation())
    assert member_client.get(f"/portal/shipments/sandbox/{theirs.tracking_number}").status_code == 404


def test_officials_do_not_use_the_portal(client, create_user):
    login(client, create_user(Role.OFFICIAL))
    assert client.get("/portal/").status_code == 403


UPLOAD = ("运单号,快递公司,手机尾号,订单号\n"
          "SBX1000000001,,,A1\n"
          "SF1000000000009,,,A2\n"
          "bad!,,,A3\n"
          "SBX1000000001,,,A4\n"
          "SBX1000000002,sandbox,,A5\n"
          ",,,\n")  # a blank row at the end


def upload(client, body: str, name="orders.csv", label=""):
    return client.post("/portal/upload", data={
        "file": (io.BytesIO(body.encode("utf-8")), name), "program_id": "", "batch_label": label,
        "csrf_token": csrf_token(client, "/portal/upload")}, content_type="multipart/form-data")


def test_upload_preview_lists_row_errors_and_writes_nothing(member_client, member, db_session):
    response = upload(member_client, UPLOAD)
    assert response.status_code == 303
    page = member_client.get(response.headers["Location"]).get_data(as_text=True)
    rows = re.findall(r'<tr class="row-error"><td class="num">(\d+)</td><td>([^<]*)</td>', page)
    assert rows == [("4", "运单号"), ("5", "运单号")]  # the SF row without digits is accepted
    assert "与第 2 行的运单号重复" in page
    assert re.search(r'data-testid="count-blank">1<', page) and re.search(r'data-testid="count-invalid">1<', page)
    assert count_shipments(db_session, organisation_id=member.organisation_id) == 0


def test_error_report_downloads_as_csv(member_client):
    location = upload(member_client, UPLOAD).headers["Location"]
    report = member_client.get(location + "/errors.csv")
    assert report.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(report.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["共读取 5 行，跳过空行 1 行；以下 2 行有问题"]  # a title line the reader skips
    # The original columns between the row number and the problem: fix the rows and upload them again.
    assert rows[1] == ["行号", "运单号", "快递公司", "手机尾号", "订单号", "列", "问题"]
    assert [r[0] for r in rows[2:]] == ["4", "5"] and "运单号" in rows[2][-2]
    assert rows[2][1:5] == ["bad!", "", "", "A3"]
    again = member_client.post("/portal/upload", data={
        "file": (io.BytesIO(report.get_data()), "fixed.csv"), "program_id": "", "batch_label": "",
        "csrf_token": csrf_token(member_client, "/portal/upload")}, content_type="multipart/form-data")
    assert again.status_code == 303  # the error file goes back in as it is


def test_confirm_imports_the_valid_rows_once_with_the_label(member_client, member, db_session):
    location = upload(member_client, UPLOAD, label="11-20 早场").headers["Location"]
    token = location.rsplit("/", 1)[1]
    for _ in range(2):  # a second click imports nothing more
        member_client.post("/portal/upload/confirm", data={"token": token,
                                                           "csrf_token": csrf_token(member_client, location)})
    assert count_shipments(db_session, organisation_id=member.organisation_id) == 3  # the SF one waits for digits
    assert count_shipments(db_session, organisation_id=member.organisation_id, batch_label="11-20 早场") == 3
    assert "上传结果" in member_client.get(location).get_data(as_text=True)


def test_unreadable_upload_is_refused_with_a_message(member_client):
    response = upload(member_client, "just some text without a header\n", name="x.csv")
    assert response.status_code == 422 and "运单号" in response.get_data(as_text=True)


def test_another_organisation_cannot_open_an_upload(member_client, client, create_user, app):
    location = upload(member_client, UPLOAD).headers["Location"]
    other = app.test_client()
    login(other, create_user(Role.MEMBER))
    assert other.get(location).status_code == 404
    assert other.get(location + "/errors.csv").status_code == 404


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_upload_templates_download(member_client, fmt):
    response = member_client.get(f"/portal/upload/template.{fmt}")
    assert response.status_code == 200 and len(response.data) > 50


def test_xlsx_upload_previews_like_csv(member_client):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["运单号", "件数"])
    sheet.append(["SBX1100000001", 1])
    sheet.append(["SBX1100000002", "两件"])
    body = io.BytesIO()
    book.save(body)
    response = member_client.post("/portal/upload", data={
        "file": (io.BytesIO(body.getvalue()), "orders.xlsx"), "program_id": "", "batch_label": "",
        "csrf_token": csrf_token(member_client, "/portal/upload")}, content_type="multipart/form-data")
    page = member_client.get(response.headers["Location"]).get_data(as_text=True)
    assert re.findall(r'<tr class="row-error"><td class="num">(\d+)</td><td>([^<]*)</td>', page) == [("3", "件数")]
    assert re.search(r'data-testid="report-counts">.*?将新建</small><div class="stat" data-testid="count-created">1<',
                     page, re.S)


def test_list_pages_have_numbers_full_width_search_and_date_order(member_client, member, create_shipment, app):
    app.config["WEB_PAGE_SIZE"] = 2
    for i in range(1, 6):
        create_shipment(organisation=member.organisation, tracking_number=f"SBX30000000{i:02d}",
                        registered_at=datetime(2026, 11, i, 2, tzinfo=timezone.utc))
    page = member_client.get("/portal/?page=2").get_data(as_text=True)
    assert 'rel="prev"' in page and 'rel="next"' in page and 'aria-current="page">2<' in page
    assert '>3</a>' in page and "SBX3000000003" in page
    # A phone keyboard's full-width digits find the parcel.
    wide = "".join(chr(ord(c) + 0xFEE0) for c in "SBX3000000004")  # ＳＢＸ３…
    found = member_client.get(f"/portal/?q={wide}").get_data(as_text=True)
    assert "共找到 1 票" in found and "SBX3000000004" in found
    reversed_dates = member_client.get("/portal/?registered_from=2026-11-05&registered_to=2026-11-01")
    assert reversed_dates.status_code == 400
    assert "开始日期晚于结束日期" in reversed_dates.get_data(as_text=True)


@pytest.mark.parametrize("field, value, message", [
    ("pieces", "-3", "件数应为 1–100 的整数"), ("pieces", "0", "件数应为 1–100 的整数"),
    ("weight_kg", "5000", "重量应为 0–100 公斤的数字"), ("declared_value", "200000", "申报价值应为 0–100,000 元的数字"),
])
def test_register_states_the_bounds(member_client, db_session, field, value, message):
    response = member_client.post("/portal/register", data={
        "number": "SBX4400000001", "carrier": "", "channel": "other", "direction": "outbound", field: value,
        "csrf_token": csrf_token(member_client, "/portal/register")})
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert count_shipments(db_session, tracking_number="SBX4400000001") == 0


def test_a_file_named_xlsx_that_is_not_excel_is_refused_saying_so(member_client):
    response = upload(member_client, "这不是表格", name="orders.xlsx")
    assert response.status_code == 422 and "内容却不是 Excel 表格" in response.get_data(as_text=True)
