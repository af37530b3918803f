"""Bulk import: files in every accepted shape give exactly the expected report."""
import codecs
import io
import time

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from shipments.models import Shipment
from shipments.models.enums import Channel, Role
from shipments.services import access, imports

HEADER = "运单号,快递公司,手机尾号,项目,渠道,目的省份,件数,重量,金额,订单号"
MESSY_ROWS = [
    "越乡合作社运单导入 2026年11月,,,,,,,,,",  # 1: title row
    ",,,,,,,,,",  # 2: blank
    HEADER,  # 3
    "SBX0000000001,sandbox,1234,,抖音,广东省,1,0.3,199,DY1",  # 4: created
    "ＳＢＸ００００００００02 , 越乡模拟快递 ,５６７８,,快手, 浙江 ,２,1.5,\"1,299.00\",DY2",  # 5: created (full-width)
    "SBX0000000001,,,,,,,,,",  # 6: duplicate of row 4
    "SBX0000000003,sandbox,,,,火星,0,abc,,",  # 7: three bad fields
    "  ,  ,,,,,,,,",  # 8: blank with spaces
    "SBX0000000004,sandbox,,,,,,,,",  # 9: another organisation's
    "SBX0000000005,,,,,,,,,",  # 10: ours already
    "12,sandbox,,,,,,,,",  # 11: bad number
    "SF1234567890123,顺丰,,,,,,,,",  # 12: created; SF waits for the phone digits
    "SBX0000000006,不存在快递,,,,,,,,",  # 13: unknown carrier
    "SBX0000000007,sandbox,,9999,,,,,,",  # 14: unknown program
]
EXPECTED_COUNTS = {"rows": 10, "created": 3, "needs_phone": 1, "updated": 0, "duplicate_in_file": 1,
                   "already_registered": 1, "registered_by_other_org": 1, "invalid": 4,
                   "blank": 1}  # row 8; row 2 is above the header, part of the title
EXPECTED_PROBLEMS = [
    (6, "number", "运单号", "duplicate_in_file", "与第 4 行的运单号重复"),
    (7, "destination_province", "目的省份", "province_unknown", "未知的省份：火星"),
    (7, "pieces", "件数", "pieces_range", "件数应为 1–100 的整数"),
    (7, "weight_kg", "重量", "weight_range", "重量应为 0–100 公斤的数字，最多 3 位小数"),
    (9, "number", "运单号", "registered_by_other_org", "该运单号已由其他机构登记"),
    (11, "number", "运单号", "number_format", "运单号只能包含字母和数字，长度 6–40"),
    (13, "carrier", "快递公司", "carrier_unknown", "未知的快递公司：不存在快递"),
    (14, "program_id", "项目", "program_unknown", "未知的项目：9999"),
]


@pytest.fixture
def org_with_history(create_organisation, create_shipment):
    org = create_organisation()
    create_shipment(organisation=create_organisation(), tracking_number="SBX0000000004")
    create_shipment(organisation=org, tracking_number="SBX0000000005")
    return org


def upload(client, db_session, org, payload: bytes, name="shipments.csv", lang=None):
    headers = {"Authorization": "Bearer " + access.create_token(db_session, org, Role.MEMBER)}
    if lang:
        headers["Accept-Language"] = lang
    # Encoded in memory: the test client's own temporary file for big bodies is never closed.
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(payload), name)})
    return client.post("/api/v1/shipments/bulk", headers=headers, data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def as_tuples(report):
    return [(p["row"], p["field"], p["column"], p["code"], p["message"]) for p in report["problems"]]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_messy_csv_gives_exactly_the_expected_report(client, db_session, org_with_history, encoding):
    payload = "\r\n".join(MESSY_ROWS).encode(encoding)
    response = upload(client, db_session, org_with_history, payload)
    assert response.status_code == 200, response.json
    report = response.json
    assert {k: report[k] for k in EXPECTED_COUNTS} == EXPECTED_COUNTS
    assert as_tuples(report) == EXPECTED_PROBLEMS
    second = db_session.scalar(select(Shipment).where(Shipment.tracking_number == "SBX0000000002"))
    assert (second.phone_last4, second.pieces, str(second.declared_value), second.channel,
            second.destination_province_code) == ("5678", 2, "1299.00", Channel.KUAISHOU, "330000")
    again = upload(client, db_session, org_with_history, payload).json
    assert again["created"] == 0 and again["already_registered"] == 4


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 5000])
def test_duplicates_across_chunks_counted_like_within_one(app, db_session, org_with_history, chunk_rows):
    """With a batch, a number repeated in a later chunk is found through the database (the first
    occurrence carries the batch and its row): the report is the same whatever the chunk size."""
    lines = MESSY_ROWS + ["SBX0000000002,,,,,,,,,",  # 15: duplicate of row 5 (registered by this file)
                          "SBX0000000005,,,,,,,,,",  # 16: duplicate of row 10 (ours before this file)
                          "SBX0000000004,,,,,,,,,"]  # 17: duplicate of row 9 (another organisation's)
    table = imports.open_table(io.BytesIO("\n".join(lines).encode()))
    batch = imports.start_batch(db_session, org_with_history.id, "dups.csv")
    with app.test_request_context():
        report = imports.import_rows(db_session, table.rows, org_with_history.id, providers={},
                                     commit=db_session.flush, columns=table.columns, chunk_rows=chunk_rows,
                                     batch=batch, blank=lambda: table.blank).as_dict("zh")
    expected = {**EXPECTED_COUNTS, "rows": 13, "duplicate_in_file": 4}
    assert {k: report[k] for k in expected} == expected
    duplicates = [(p["row"], p["message"]) for p in report["problems"] if p["code"] == "duplicate_in_file"]
    assert duplicates == [(6, "与第 4 行的运单号重复"), (15, "与第 5 行的运单号重复"), (16, "与第 10 行的运单号重复"),
                          (17, "与第 9 行的运单号重复")]


# Blank rows in the middle and at the end (issue 12): counted apart, never invalid. An empty line
# counts when a row follows it; the file's final newlines are not rows.
BLANK_ROWS_CSV = "\n".join([
    "运单号,快递公司,手机尾号",
    "SBX0000000101,sandbox,1234",  # 2
    ",,",  # 3: blank
    "",  # 4: blank (an empty line, rows follow)
    "SBX0000000102,sandbox,",  # 5
    "  ,　,",  # 6: blank (spaces, a full-width one)
    "bad!,,",  # 7: invalid
    ",,",  # 8: blank
    " , , ",  # 9: blank at the end
    "", "",  # trailing newlines
])


def test_blank_rows_are_counted_apart_and_are_not_invalid(client, db_session, create_organisation):
    report = upload(client, db_session, create_organisation(), BLANK_ROWS_CSV.encode("gbk")).json
    assert {k: report[k] for k in ("rows", "created", "invalid", "blank")} == {
        "rows": 3, "created": 2, "invalid": 1, "blank": 5}, report
    assert [p["row"] for p in report["problems"]] == [7]


def test_blank_rows_in_a_sheet_are_counted_where_excel_leaves_them_out(client, db_session, create_organisation):
    workbook = Workbook()
    sheet = workbook.active
    for cells in (["订单导出"], [], ["运单号", "快递公司"],  # title and a blank row above the header: not counted
                  ["SBX0000000111", "sandbox"],  # 4
                  [None, None], [None, None],  # 5, 6: left out of the file by Excel: blank
                  ["SBX0000000112", "sandbox"],  # 7
                  [" ", "  "],  # 8: blank at the end (cells holding spaces)
                  ["", None], [None, None]):  # 9, 10: hold nothing, after the last row: not rows
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    report = upload(client, db_session, create_organisation(), buffer.getvalue(), "s.xlsx").json
    assert {k: report[k] for k in ("rows", "created", "invalid", "blank")} == {
        "rows": 2, "created": 2, "invalid": 0, "blank": 3}, report


def test_messages_follow_accept_language(client, db_session, org_with_history):
    report = upload(client, db_session, org_with_history, "\n".join(MESSY_ROWS).encode(), lang="en").json
    assert report["problems"][0]["message"] == "same number as row 4"


def test_messy_xlsx_gives_the_same_report(client, db_session, org_with_history):
    workbook = Workbook()
    sheet = workbook.active
    for line in MESSY_ROWS:
        cells = next(iter(__import__("csv").reader([line])))
        sheet.append([c if c.strip() else None for c in cells])
    buffer = io.BytesIO()
    workbook.save(buffer)
    report = upload(client, db_session, org_with_history, buffer.getvalue(), "s.xlsx").json
    assert {k: report[k] for k in EXPECTED_COUNTS} == EXPECTED_COUNTS
    assert as_tuples(report) == EXPECTED_PROBLEMS


def test_xlsx_numbers_stored_as_numbers(client, db_session, create_organisation):
    workbook = Workbook()
    workbook.active.append(["快递单号", "快递公司", "收件人手机", "件数"])
    workbook.active.append([78000000000001, "中通", 123, 3.0])  # Excel dropped the phone's leading zero
    buffer = io.BytesIO()
    workbook.save(buffer)
    org = create_organisation()
    report = upload(client, db_session, org, buffer.getvalue(), "s.xlsx").json
    assert report["created"] == 1, report
    shipment = db_session.scalar(select(Shipment).where(Shipment.organisation_id == org.id))
    assert (shipment.tracking_number, shipment.carrier, shipment.pieces) == ("78000000000001", "zto", 3)


@pytest.mark.parametrize("payload, code, status", [
    (b"", "empty", 422),
    ("名称,数量\n甲,1\n".encode(), "no_number_column", 422),
    (b"PK\x03\x04 not really a zip", "unreadable", 422),
])
def test_unusable_files_are_rejected_whole(client, db_session, create_organisation, payload, code, status):
    response = upload(client, db_session, create_organisation(), payload)
    assert response.status_code == status and response.json["errors"]["file"]


def test_json_bulk_uses_the_same_rules(client, db_session, create_organisation):
    org = create_organisation()
    token = access.create_token(db_session, org, Role.MEMBER)
    items = [{"number": "SBX0000000101"}, {"number": "SBX0000000101"}, {"number": "x"}, "nope",
             {"number": "SBX0000000102", "pieces": "３"}]
    report = client.post("/api/v1/shipments/bulk", json=items, headers={"Authorization": f"Bearer {token}"}).json
    assert (report["created"], report["duplicate_in_file"], report["invalid"]) == (2, 1, 2)
    assert [(p["row"], p["code"]) for p in report["problems"]] == [
        (2, "duplicate_in_file"), (3, "number_format"), (4, "not_an_object")]


def test_json_bulk_over_the_limit_is_413(client, db_session, create_organisation):
    token = access.create_token(db_session, create_organisation(), Role.MEMBER)
    items = [{"number": f"SBX{i:010d}"} for i in range(imports.MAX_JSON_ROWS + 1)]
    response = client.post("/api/v1/shipments/bulk", json=items, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 413
    assert db_session.scalar(select(func.count()).select_from(Shipment)) == 0


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_template_round_trips(client, db_session, create_organisation, fmt):
    org = create_organisation()
    token = access.create_token(db_session, org, Role.MEMBER)
    headers = {"Authorization": f"Bearer {token}"}
    template = client.get("/api/v1/shipments/template", query_string={"format": fmt}, headers=headers)
    assert template.status_code == 200
    if fmt == "xlsx":
        assert load_workbook(io.BytesIO(template.data)).active["A1"].value == "运单号"
    else:
        assert template.data.startswith(codecs.BOM_UTF8)
    report = upload(client, db_session, org, template.data, f"t.{fmt}").json
    assert report["created"] == 1 and report["invalid"] == 0, report


def test_flask_import_command(app, db_session, create_organisation, tmp_path):
    org = create_organisation(name="稽东香榧专业合作社测试")
    path = tmp_path / "s.csv"
    path.write_bytes("\n".join(MESSY_ROWS[2:6]).encode("gbk"))
    result = app.test_cli_runner().invoke(args=["import", str(path), "--org", org.name])
    assert result.exit_code == 0, result.output
    assert "created: 2" in result.output and "duplicate_in_file: 1" in result.output
    missing = app.test_cli_runner().invoke(args=["import", str(path), "--org", "没有这个机构"])
    assert missing.exit_code != 0


def test_flask_import_command_reports_in_the_asked_language(app, db_session, create_organisation, tmp_path):
    # The CLI has an app context but no request: Flask-Babel's force_locale must still pick the language.
    org = create_organisation()
    path = tmp_path / "s.csv"
    path.write_bytes("\n".join(MESSY_ROWS[2:6]).encode())
    chinese = app.test_cli_runner().invoke(args=["import", str(path), "--org", org.name])
    assert "row 4 运单号: 与第 2 行的运单号重复" in chinese.output, chinese.output
    english = app.test_cli_runner().invoke(args=["import", str(path), "--org", org.name, "--lang", "en"])
    assert "row 4 运单号: same number as row 2" in english.output, english.output
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    for lang, words in (("zh", "文件为空"), ("en", "the file is empty")):
        result = app.test_cli_runner().invoke(args=["import", str(empty), "--org", org.name, "--lang", lang])
        assert result.exit_code != 0 and words in result.output, result.output


def test_messages_refuse_to_fall_back_to_english_without_an_app_context():
    from shipments.services.shipments import message
    with pytest.raises(RuntimeError, match="app context"):
        message("required", "zh")


# ------------------------------------------------------------- 100,000 rows
BIG = 100_000
PROVINCES = ["广东省", "浙江", "440000", "上海市", "北京"]
CHANNELS = ["抖音", "快手", "淘宝", "拼多多", "wechat"]


def big_rows():
    for i in range(BIG):
        yield [f"SBX{5_000_000_000 + i:010d}", "sandbox", f"{i % 10000:04d}", "", CHANNELS[i % 5],
               PROVINCES[i % 5], str(1 + i % 3), f"{(i % 50) / 10:.1f}", f"{i % 1000}.50", f"DY{i}"]


def check_big_import(db_session, org, report, started):
    assert {k: report[k] for k in ("rows", "created", "invalid", "duplicate_in_file")} == {
        "rows": BIG, "created": BIG, "invalid": 0, "duplicate_in_file": 0}, report["problems"][:5]
    count, pieces = db_session.execute(select(func.count(), func.sum(Shipment.pieces))
                                       .where(Shipment.organisation_id == org.id)).one()
    assert count == BIG and pieces == sum(1 + i % 3 for i in range(BIG))
    last = db_session.scalar(select(Shipment).where(Shipment.tracking_number == f"SBX{5_000_000_000 + BIG - 1:010d}"))
    assert (last.phone_last4, last.order_ref, str(last.declared_value)) == ("9999", f"DY{BIG - 1}", "999.50")
    print(f"\n{BIG} rows imported in {time.perf_counter() - started:.1f} s")


@pytest.mark.slow
def test_100k_row_xlsx(app, client, db_session, create_organisation, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_SYNC_SECONDS", 600)  # the whole import in the request
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(HEADER.split(","))
    for row in big_rows():
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    org = create_organisation()
    started = time.perf_counter()
    response = upload(client, db_session, org, buffer.getvalue(), "big.xlsx")
    check_big_import(db_session, org, response.json, started)


@pytest.mark.slow
def test_100k_row_gbk_csv(app, client, db_session, create_organisation, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_SYNC_SECONDS", 600)  # the whole import in the request
    lines = [HEADER] + [",".join(row) for row in big_rows()]
    payload = "\r\n".join(lines).encode("gbk")
    org = create_organisation()
    started = time.perf_counter()
    response = upload(client, db_session, org, payload, "big.csv")
    check_big_import(db_session, org, response.json, started)
