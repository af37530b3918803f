"""Issue 11: the import reads and validates chunk N+1 in a thread while chunk N is written.

What must hold: the reader stays at most two chunks ahead (constant memory), a failure on
either side stops both and leaves only the chunks committed before it, and the report is
the one a one-thread import gives (tests/test_imports.py checks the counts chunk by chunk).
"""
import io
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from shipments.models import Shipment
from shipments.services import imports, spreadsheets
from tests.hardening.conftest import xlsx_bytes

CHUNK = 5


def numbered_rows(count: int, consumed: dict):
    """Rows SBX0000008001… that count how far the reader got, and note when they are closed."""
    try:
        for i in range(1, count + 1):
            consumed["rows"] = i
            yield i + 1, {"number": f"SBX000000{8000 + i}", "carrier": "sandbox"}
    finally:
        consumed["closed"] = True


def stored(db_session, org) -> int:
    return db_session.scalar(select(func.count()).select_from(Shipment).where(Shipment.organisation_id == org.id))


def reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "import-reader"]


def test_the_reader_stays_at_most_two_chunks_ahead(app, db_session, create_organisation):
    org = create_organisation()
    consumed: dict = {}
    ahead = []

    def commit():
        db_session.commit()
        ahead.append(consumed["rows"] - stored(db_session, org))
    report = imports.import_rows(db_session, numbered_rows(8 * CHUNK, consumed), org.id, providers={},
                                 commit=commit, chunk_rows=CHUNK)
    assert (report.rows, report.created, report.finished) == (8 * CHUNK, 8 * CHUNK, True)
    assert max(ahead) <= 2 * CHUNK, ahead  # one chunk queued, one being read: memory stays flat
    assert consumed["closed"] and not reader_threads()


def test_a_failure_while_writing_stops_the_reader(app, db_session, create_organisation):
    """The database goes away at the second chunk's commit: the error reaches the caller, the
    reader thread ends (its rows closed), and only the first chunk is kept."""
    org = create_organisation()
    consumed: dict = {}
    commits = {"n": 0}

    def commit_then_cut():
        commits["n"] += 1
        if commits["n"] == 2:
            db_session.rollback()
            raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))
        db_session.commit()
    with pytest.raises(OperationalError):
        imports.import_rows(db_session, numbered_rows(100 * CHUNK, consumed), org.id, providers={},
                            commit=commit_then_cut, chunk_rows=CHUNK)
    assert consumed["closed"] and not reader_threads()
    assert consumed["rows"] <= 4 * CHUNK + 1  # it stopped reading: nowhere near the 500 rows
    assert stored(db_session, org) == CHUNK


def test_a_hostile_line_mid_file_is_raised_after_the_chunks_before_it(app, db_session, create_organisation):
    """A line over the limit in the third chunk: the reader hands the refusal over, the two chunks
    before it are written (as a one-thread import would), nothing of the third."""
    org = create_organisation()
    lines = ["运单号,快递公司"] + [f"SBX00000070{i:02d},sandbox" for i in range(12)]
    lines.insert(12, "SBX0000007099," + "a" * (spreadsheets.MAX_LINE_CHARS + 10))
    table = imports.open_table(io.BytesIO("\n".join(lines).encode()))
    with pytest.raises(imports.FileRejected) as refused:
        imports.import_rows(db_session, table.rows, org.id, providers={}, commit=db_session.commit,
                            columns=table.columns, chunk_rows=CHUNK)
    assert refused.value.code == "line_too_long" and refused.value.params["row"] == 13
    assert stored(db_session, org) == 2 * CHUNK
    assert not reader_threads()


@pytest.mark.parametrize("rows, finished", [(3 * CHUNK, False), (CHUNK, True)])
def test_stop_after_a_chunk_tells_whether_rows_are_left(app, db_session, create_organisation, rows, finished):
    org = create_organisation()
    consumed: dict = {}
    report = imports.import_rows(db_session, numbered_rows(rows, consumed), org.id, providers={},
                                 commit=db_session.commit, chunk_rows=CHUNK, stop=lambda: True)
    assert (report.rows, report.created, report.finished) == (CHUNK, CHUNK, finished)
    assert stored(db_session, org) == CHUNK
    assert consumed["closed"] and not reader_threads()


def test_a_stop_with_no_rows_left_still_gives_the_batch_its_report(app, db_session, create_organisation):
    """Asked to stop after the chunk that was the file's last: the import is whole, so its batch
    keeps the counts and the row report (it kept nothing: the background job then ended "done")."""
    org = create_organisation()
    batch = imports.start_batch(db_session, org.id, "exact.csv")
    with app.test_request_context():
        report = imports.import_rows(db_session, numbered_rows(CHUNK, {}), org.id, providers={},
                                     commit=db_session.commit, chunk_rows=CHUNK, batch=batch, stop=lambda: True)
    db_session.refresh(batch)
    assert report.finished and (batch.rows, batch.created) == (CHUNK, CHUNK)
    assert batch.report["rows"] == CHUNK


def test_sheet_cell_references_in_every_form(app, db_session, create_organisation):
    """The XLSX reader's column cache: lower-case references, cells without one (the next
    column), two-letter columns, and a reference it cannot parse (the next column too)."""
    header = ('<row r="1"><c r="A1" t="inlineStr"><is><t>运单号</t></is></c>'
              '<c r="AB1" t="inlineStr"><is><t>快递公司</t></is></c></row>')
    rows = ('<row r="2"><c r="a2" t="inlineStr"><is><t>SBX0000006001</t></is></c>'
            '<c r="ab2" t="inlineStr"><is><t>sandbox</t></is></c></row>'
            '<row r="3"><c t="inlineStr"><is><t>SBX0000006002</t></is></c>'
            '<c r="AB3" t="inlineStr"><is><t>sandbox</t></is></c></row>'
            '<row r="4"><c r="A4" t="inlineStr"><is><t>SBX0000006003</t></is></c>'
            '<c r="B?" t="inlineStr"><is><t>x</t></is></c><c r="AB4" t="inlineStr"><is><t>sandbox</t></is></c></row>')
    table = spreadsheets.open_table(io.BytesIO(xlsx_bytes(header + rows)))
    assert [(n, r["number"], r["carrier"]) for n, r in table.rows] == [
        (2, "SBX0000006001", "sandbox"), (3, "SBX0000006002", "sandbox"), (4, "SBX0000006003", "sandbox")]
    cells = spreadsheets.xlsx_cells(io.BytesIO(xlsx_bytes(rows)), 100)[0]
    assert [row for _, row in cells][2][:2] == ["SBX0000006003", "x"]  # "B?" is read as the next column


@pytest.mark.parametrize("threaded", [True, False])
def test_the_same_report_with_and_without_the_reader_thread(app, db_session, create_organisation, create_shipment,
                                                             monkeypatch, threaded):
    """READER_THREAD off reads in the caller's thread (bench/import.py compares both): same answer."""
    monkeypatch.setattr(imports, "READER_THREAD", threaded)
    org = create_organisation()
    create_shipment(organisation=org, tracking_number="SBX0000005003")
    lines = ["运单号,快递公司,件数", "SBX0000005001,sandbox,1", "SBX0000005002,sandbox,0", ",,",
             "SBX0000005003,sandbox,1", "SBX0000005001,sandbox,1", "SBX0000005003,sandbox,2", "SBX0000005004,,1"]
    table = imports.open_table(io.BytesIO("\n".join(lines).encode()))
    batch = imports.start_batch(db_session, org.id, "same.csv")
    with app.test_request_context():
        report = imports.import_rows(db_session, table.rows, org.id, providers={}, commit=db_session.commit,
                                     columns=table.columns, chunk_rows=2, batch=batch,
                                     blank=lambda: table.blank).as_dict("en")
    assert {k: report[k] for k in ("rows", "created", "duplicate_in_file", "already_registered", "invalid", "blank")} \
        == {"rows": 6, "created": 2, "duplicate_in_file": 2, "already_registered": 1, "invalid": 1, "blank": 1}
    assert [(p["row"], p["code"], p.get("column")) for p in report["problems"]] == [
        (3, "pieces_range", "件数"), (6, "duplicate_in_file", "运单号"), (7, "duplicate_in_file", "运单号")]
    assert not reader_threads()
