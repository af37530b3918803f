"""Helpers for the hardening tests: hostile files, memory sampling, state snapshots."""
import io
import threading
import zipfile

import pytest
from sqlalchemy import func, select

from shipments.models import Shipment




def rss_bytes() -> int:
    """This process's resident set size now (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


class RssSampler:
    """Samples RSS every few ms while a request runs: the growth above the level before it."""

    def __enter__(self):
        self.base = rss_bytes()
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_bytes())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.base) / 1e6


def shipment_count(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(Shipment))


CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
</Types>"""
WORKBOOK = """<?xml version="1.0" encoding="UTF-8"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"
 xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="s" sheetId="1" r:id="rId1"/></sheets></workbook>"""
RELS = """<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
</Relationships>"""


def inline_row(number: int, values) -> str:
    cells = "".join(f'<c r="{col}{number}" t="inlineStr"><is><t>{value}</t></is></c>' for col, value in values)
    return f'<row r="{number}">{cells}</row>'


def xlsx_bytes(sheet_rows, dimension: str | None = None, extra_parts: dict | None = None, doctype: str = "") -> bytes:
    """A hand-made XLSX: `sheet_rows` is the XML inside <sheetData> (a string or an iterable of strings)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(b'<?xml version="1.0" encoding="UTF-8"?>' + doctype.encode() +
                       b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            if dimension:
                part.write(f'<dimension ref="{dimension}"/>'.encode())
            part.write(b"<sheetData>")
            for chunk in ([sheet_rows] if isinstance(sheet_rows, str) else sheet_rows):
                part.write(chunk.encode() if isinstance(chunk, str) else chunk)
            part.write(b"</sheetData></worksheet>")
        for name, body in (extra_parts or {}).items():
            archive.writestr(name, body)
    return buffer.getvalue()


@pytest.fixture
def rss():
    return RssSampler


def far_cell_xlsx(ref: str) -> bytes:
    """The attack run's 1.5 KB sheet: a header at A1 and one cell far away."""
    row = "".join(ch for ch in ref if ch.isdigit())
    header = inline_row(1, [("A", "运单号"), ("B", "快递公司")])
    return xlsx_bytes(header + f'<row r="{row}"><c r="{ref}" t="inlineStr"><is><t>x</t></is></c></row>')
