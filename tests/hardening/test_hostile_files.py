"""Hostile and odd files: refused with a clear 413/422 (or read correctly), never a crash,
never more than +100 MB of worker memory, nothing written, nothing left behind."""
import codecs
import io
import os
import zipfile

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from shipments import labels
from shipments.models import Shipment
from shipments.models.enums import Role
from shipments.services import access, spreadsheets
from tests.hardening.conftest import inline_row, shipment_count, xlsx_bytes

MB100 = 100


def post_file(client, db_session, org, payload: bytes, name: str, lang="zh"):
    headers = {"Authorization": "Bearer " + access.create_token(db_session, org, Role.MEMBER),
               "Accept-Language": lang}
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(payload), name)})
    return client.post("/api/v1/shipments/bulk", headers=headers, data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


HEADER = inline_row(1, [("A", "运单号"), ("B", "快递公司")])
GOOD = inline_row(2, [("A", "SBX0000000001"), ("B", "sandbox")])


def far_cell(ref: str) -> str:
    row = "".join(ch for ch in ref if ch.isdigit())
    return f'<row r="{row}"><c r="{ref}" t="inlineStr"><is><t>x</t></is></c></row>'


def bomb_rows(total_bytes: int):
    # A part that compresses ≈ 1000×: repeated blank rows (attributes only).
    blank = b'<row r="3" spans="1:2"></row>' * 4096
    for _ in range(total_bytes // len(blank)):
        yield blank


HOSTILE = {
    # The 1.5 KB file: cells at A1 and XFD1048576, with the dimension declared ...
    "xfd_declared": (lambda: xlsx_bytes(HEADER + far_cell("XFD1048576"), dimension="A1:XFD1048576"),
                     413, "too_many_columns", "XFD1048576"),
    # ... and without: the streaming reader stops at the first cell past the caps.
    "xfd_undeclared": (lambda: xlsx_bytes(HEADER + far_cell("XFD1048576")), 413, "too_many_rows", "100000"),
    "xfd1_undeclared": (lambda: xlsx_bytes(HEADER + far_cell("XFD1")), 413, "too_many_columns", "XFD1"),
    "zz100000": (lambda: xlsx_bytes(HEADER + far_cell("ZZ100000")), 413, "too_many_columns", "ZZ100000"),
    "row_beyond_limit": (lambda: xlsx_bytes(HEADER + far_cell("A1048576")), 413, "too_many_rows", "100000"),
    "rows_declared": (lambda: xlsx_bytes(HEADER, dimension="A1:B500000"), 413, "too_many_rows", "100000"),
    "huge_cell": (lambda: xlsx_bytes(HEADER + inline_row(2, [("A", "9" * 5000)])), 413, "cell_too_large", "2000"),
    "zip_bomb": (lambda: xlsx_bytes(bomb_rows(40 * 1024 * 1024)), 413, "zip_bomb", "sheet1.xml"),
    "doctype": (lambda: xlsx_bytes(HEADER, extra_parts={}).replace(b"", b""), None, None, None),
    "not_a_zip": (lambda: b"PK\x03\x04 not really a zip", 422, "unreadable", ""),
    "ods_like": (lambda: _zip({"content.xml": "<office:document-content/>"}), 422, "not_xlsx", ".xlsx"),
    "old_xls": (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, 422, "xls", ".xls"),
    "csv_wide": (lambda: ("运单号" + "," * 5000 + "\n").encode(), 413, "too_many_columns", "100"),
    "csv_long_line": (lambda: b"\xe8\xbf\x90\xe5\x8d\x95\xe5\x8f\xb7," + b"a" * 70_000 + b"\n", 413, "line_too_long",
                      "64000"),
}
del HOSTILE["doctype"]


def _zip(parts: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, body in parts.items():
            archive.writestr(name, body)
    return buffer.getvalue()


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_file_is_refused_within_memory(client, db_session, create_organisation, rss, case):
    build, status, code, detail = HOSTILE[case]
    payload = build()
    org = create_organisation()
    before = shipment_count(db_session)
    with rss() as sampler:
        response = post_file(client, db_session, org, payload, "orders.xlsx" if payload[:2] == b"PK" else "o.csv")
    assert response.status_code == status, response.json
    message = response.json["message"]
    assert message.startswith(labels.text(spreadsheets.FILE_MESSAGES[code], "zh").split("%(")[0]), message
    assert detail in message, message
    assert sampler.growth_mb < MB100, f"{case}: +{sampler.growth_mb:.0f} MB"
    assert shipment_count(db_session) == before


def test_doctype_in_a_sheet_is_refused(client, db_session, create_organisation):
    payload = xlsx_bytes(HEADER + inline_row(2, [("A", "&a;")]), doctype='<!DOCTYPE w [<!ENTITY a "SBX0000000009">]>')
    response = post_file(client, db_session, create_organisation(), payload, "x.xlsx")
    assert response.status_code == 422 and "xlsx" in response.json["message"]


def test_shared_strings_are_read_in_row_order(client, db_session, create_organisation):
    strings = ('<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               '<si><t>运单号</t></si><si><r><t>SBX00000</t></r><r><t>00077</t></r></si>'
               '<si><t>sandbox</t><rPh><t>ignored</t></rPh></si><si><t>快递公司</t></si></sst>')
    rows = ('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>3</v></c></row>'
            '<row r="4"><c r="A4" t="s"><v>1</v></c><c r="B4" t="s"><v>2</v></c></row>')
    org = create_organisation()
    response = post_file(client, db_session, org, xlsx_bytes(rows, extra_parts={"xl/sharedStrings.xml": strings}),
                         "x.xlsx")
    assert response.status_code == 200 and response.json["created"] == 1, response.json
    assert db_session.scalar(select(Shipment.tracking_number).where(Shipment.organisation_id == org.id)) \
        == "SBX0000000077"


def test_a_100k_row_sheet_stays_within_40_mb(client, db_session, create_organisation, rss, tmp_path):
    rows = (inline_row(i, [("A", f"SBX{8_000_000_000 + i:010d}"), ("B", "sandbox"), ("C", "1234")])
            for i in range(2, 100_002))
    payload = xlsx_bytes([HEADER] + list(rows), dimension="A1:C100001")
    org = create_organisation()
    opened = spreadsheets.open_table(io.BytesIO(payload))
    with rss() as sampler:
        count = sum(1 for _ in opened.rows)
    assert count == 100_000
    assert sampler.growth_mb < 40, f"+{sampler.growth_mb:.0f} MB reading 100k rows"
    assert org.id


# ------------------------------------------------------------------ CSV encodings
ZURICH = "运单号,快递公司,目的城市\nSBX0000000101,sandbox,Zürich\n"


@pytest.mark.parametrize("encoding, bom", [
    ("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("utf-16-le", b""), ("utf-16-be", b""),
    ("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE), ("utf-32-le", b""),
    ("utf-32-le", codecs.BOM_UTF32_LE), ("utf-32-be", codecs.BOM_UTF32_BE),
])
def test_unicode_csv_in_every_form_is_read(client, db_session, create_organisation, encoding, bom):
    org = create_organisation()
    response = post_file(client, db_session, org, bom + ZURICH.encode(encoding), "o.csv")
    assert response.status_code == 200 and response.json["created"] == 1, response.json
    shipment = db_session.scalar(select(Shipment).where(Shipment.organisation_id == org.id))
    assert shipment.tracking_number == "SBX0000000101"


def test_gbk_csv_is_read(client, db_session, create_organisation):
    org = create_organisation()
    text = "运单号,快递公司,目的省份\nSBX0000000102,sandbox,广东省\n"
    response = post_file(client, db_session, org, text.encode("gbk"), "o.csv")
    assert response.status_code == 200 and response.json["created"] == 1, response.json


@pytest.mark.parametrize("encoding, guess", [("latin-1", "Latin"), ("shift_jis", "Shift")])
def test_latin1_and_shift_jis_are_refused_naming_the_encoding(client, db_session, create_organisation,
                                                              encoding, guess):
    text = ("number,carrier,city\n" + "".join(f"SBX00000002{i:02d},sandbox,{city}\n" for i, city in enumerate(
        ["Zürich", "Genève", "Münster", "Köln", "Malmö", "Århus"] if encoding == "latin-1"
        else ["東京都港区", "大阪市北区", "ハローワーク", "カタカナ", "ひらがな", "札幌市"])))
    before = shipment_count(db_session)
    response = post_file(client, db_session, create_organisation(), text.encode(encoding), "o.csv", lang="en")
    assert response.status_code == 422, response.json
    assert "encoding" in response.json["message"] and guess in response.json["message"], response.json["message"]
    assert shipment_count(db_session) == before


def test_replacement_characters_are_refused(client, db_session, create_organisation):
    response = post_file(client, db_session, create_organisation(),
                         "运单号,快递公司\nSBX0000000103,sandbox\ufffd\n".encode(), "o.csv")
    assert response.status_code == 422 and "�" in response.json["message"]


# ------------------------------------------------------------------ body limits and leftovers
# werkzeug leaves the spool file of a body it stopped reading to the garbage collector.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_upload_over_the_limit_is_413_even_when_chunked(app, client, db_session, create_organisation,
                                                         monkeypatch):
    monkeypatch.setitem(app.config, "BULK_MAX_BYTES", 2 * 1024 * 1024)
    org = create_organisation()
    token = access.create_token(db_session, org, Role.MEMBER)
    payload = b"number\n" + b"SBX0000000001\n" * 200_000  # 2.8 MB

    def chunks():
        for i in range(0, len(payload), 65536):
            yield payload[i:i + 65536]
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(payload), "o.csv")})
    before = shipment_count(db_session)
    response = client.post("/api/v1/shipments/bulk", data=io.BytesIO(body), headers={
        "Authorization": "Bearer " + token, "Transfer-Encoding": "chunked",
        "Content-Type": f"multipart/form-data; boundary={boundary}"}, environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413 and "2 MB" in response.json["message"], response.get_data(as_text=True)
    assert shipment_count(db_session) == before


def test_large_push_is_413(client):
    response = client.post("/api/v1/integrations/kuaidi100/push", data=b"x" * (1024 * 1024 + 1),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
