"""A messy Douyin-shop export: exact counts from XLSX and from the same rows as GBK CSV, then a re-upload
with the phone digits filled in (issue 10)."""
import io

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from shipments.db import utcnow
from shipments.models import Shipment
from shipments.models.enums import StopReason
from shipments.services import imports

HEADER = ["订单号", "运单号", "快递公司", "收件人手机", "商品", "数量"]
# (order ref, number as pasted, carrier, phone): the sheet's rows from row 4 (title, blank, header above).
ROWS = [
    ("DY001", "73000000000001", "中通快递", "138****5678", "珍珠项链", 1),    # 4 created
    None,                                                                    # 5 blank
    ("DY002", "７８１２３４５６７８９０１２", "中通", "13912340001", "珍珠", 1),  # 6 created (full-width)
    ("DY003", "6912345678901234567", "圆通速递", "", "珍珠", 1),             # 7 order number pasted
    ("DY004", "YT2700", "圆通", "", "茶叶", 1),                              # 8 truncated
    ("DY005", "SF02458", "顺丰速运", "1234", "茶叶", 1),                     # 9 truncated
    ("DY006", "SF1000000000001SF1000000000002", "顺丰", "1234", "茶", 2),    # 10 two run together
    ("DY007", "7812345678901299", "中通", "5678", "茶", 1),                  # 11 extra digits
    ("DY008", "SF1000000000101", "顺丰", "", "杨梅", 1),                     # 12 created, needs phone
    ("DY009", "78000000000102", "中通", "138********", "杨梅", 1),           # 13 created, needs phone
    ("DY001", "73000000000001", "中通快递", "138****5678", "珍珠项链", 1),    # 14 duplicate of row 4
    ("DY010", "YT1000000000103", "", "", "香榧", 1),                         # 15 created (detected)
    ("DY011", "123456789012", "", "", "香榧", 1),                            # 16 legacy 12 digits: choose
    ("DY012", "EA123456785CN", "", "", "香榧", 1),                           # 17 created as EMS
    ("DY013", "75000000000104", "中通", "", "桃", 3),                        # 18 created, needs phone
]
NEEDS_PHONE_ROWS = {12: "SF1000000000101", 13: "78000000000102", 18: "75000000000104"}
EXPECTED = {"rows": 14, "created": 7, "needs_phone": 3, "updated": 0, "duplicate_in_file": 1,
            "already_registered": 0, "registered_by_other_org": 0, "invalid": 6}
PROBLEMS = {7: ("number", "number_order_ref"), 8: ("number", "number_shape"), 9: ("number", "number_shape"),
            10: ("number", "number_concatenated"), 11: ("number", "number_shape"),
            14: ("number", "duplicate_in_file"), 16: ("carrier", "carrier_ambiguous")}


def sheet_rows(digits: dict | None = None):
    rows = [["抖店订单导出 2026-06-12", None, None, None, None, None], [None] * 6, HEADER]
    for offset, row in enumerate(ROWS):
        if row is None:
            rows.append([None] * 6)
            continue
        order, number, carrier, phone, goods, pieces = row
        line = len(rows) + 1
        if digits and line in digits:
            phone = digits[line]
        rows.append([order, number, carrier, phone, goods, pieces])
    return rows


def as_xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def as_gbk_csv(rows) -> bytes:
    text = "\r\n".join(",".join("" if v is None else str(v) for v in row) for row in rows) + "\r\n"
    return text.encode("gbk")


def run(db_session, data: bytes, organisation_id: int):
    table = imports.open_table(io.BytesIO(data))
    return imports.import_rows(db_session, table.rows, organisation_id, providers={"sandbox": {}},
                               commit=db_session.flush, columns=table.columns)


@pytest.mark.parametrize("encode", [as_xlsx, as_gbk_csv], ids=["xlsx", "gbk-csv"])
def test_messy_export_gives_exact_counts_and_row_numbers(db_session, create_organisation, encode):
    org = create_organisation()
    report = run(db_session, encode(sheet_rows()), org.id)
    counts = {k: v for k, v in report.as_dict("zh").items() if k in EXPECTED}
    assert counts == EXPECTED
    got = {row: (field, code) for row, field, _column, code, _params in report.problems}
    assert got == PROBLEMS  # file row numbers (the CSV's line numbers are the sheet's rows)
    messages = {p["row"]: p["message"] for p in report.as_dict("zh")["problems"]}
    assert "抖音订单号" in messages[7] and "圆通速递单号应为" in messages[7]
    assert "YT 加 13 位数字" in messages[8]
    assert "SF1000000000001" in messages[10] and "SF1000000000002" in messages[10]
    assert "14 位数字，以 73–76 或 78 开头" in messages[11]
    assert "顺丰速运" in messages[16] and "中通快递" in messages[16] and "%" in messages[16]
    stored = {s.tracking_number: s for s in db_session.scalars(select(Shipment).where(Shipment.organisation_id == org.id))}
    assert set(stored) == {"73000000000001", "78123456789012", "SF1000000000101", "78000000000102",
                           "YT1000000000103", "EA123456785CN", "75000000000104"}
    assert stored["EA123456785CN"].carrier == "ems"
    assert stored["73000000000001"].phone_last4 == "5678"
    for number in NEEDS_PHONE_ROWS.values():
        waiting = stored[number]
        assert waiting.stop_reason == StopReason.NEEDS_PHONE and waiting.next_poll_at is None
        assert waiting.phone_last4 is None
    assert stored["YT1000000000103"].next_poll_at is not None and stored["YT1000000000103"].stop_reason is None


@pytest.mark.parametrize("encode", [as_xlsx, as_gbk_csv], ids=["xlsx", "gbk-csv"])
def test_uploading_again_with_digits_updates_exactly_those_rows(db_session, create_organisation, encode):
    org = create_organisation()
    run(db_session, encode(sheet_rows()), org.id)
    before = utcnow()
    report = run(db_session, encode(sheet_rows({12: "0012", 13: "139****0013", 18: "18800000018"})), org.id)
    assert {k: v for k, v in report.as_dict().items() if k in EXPECTED} == {
        **EXPECTED, "created": 0, "needs_phone": 0, "updated": 3, "already_registered": 4}
    db_session.expire_all()
    rows = {s.tracking_number: s for s in db_session.scalars(select(Shipment).where(Shipment.organisation_id == org.id))}
    assert {n: rows[n].phone_last4 for n in NEEDS_PHONE_ROWS.values()} == {
        "SF1000000000101": "0012", "78000000000102": "0013", "75000000000104": "0018"}
    for number in NEEDS_PHONE_ROWS.values():
        assert rows[number].stop_reason is None and before <= rows[number].next_poll_at <= utcnow()
    untouched = rows["73000000000001"]
    assert untouched.phone_last4 == "5678"
    # A third upload changes nothing more.
    again = run(db_session, encode(sheet_rows({12: "0012", 13: "139****0013", 18: "18800000018"})), org.id)
    assert (again.updated, again.already_registered, again.created) == (0, 7, 0)


def test_another_organisation_cannot_add_digits_to_our_rows(db_session, create_organisation):
    ours, theirs = create_organisation(), create_organisation()
    run(db_session, as_xlsx(sheet_rows()), ours.id)
    report = run(db_session, as_xlsx(sheet_rows({12: "0012"})), theirs.id)
    assert report.updated == 0 and report.registered_by_other_org == 7
    waiting = db_session.scalar(select(Shipment).where(Shipment.tracking_number == "SF1000000000101"))
    assert waiting.phone_last4 is None and waiting.stop_reason == StopReason.NEEDS_PHONE
