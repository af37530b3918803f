"""Reading uploads safely: CSV (with encoding detection) and XLSX as streams with hard caps.

Every upload comes from a member we trust with their data, not with our
workers: a 1.5 KB XLSX declaring a cell at XFD1048576 made a dense reader
ask for 512 GiB. So nothing here materialises a sheet. XLSX is read as a
ZIP of XML parts with the standard library's expat parser, one row at a
time, after checking what the file declares (part sizes, compression
ratio, the sheet's dimension) and while checking what it contains (row and
column numbers, cell sizes, shared strings). Memory stays constant: the
shared-string table (capped) is kept as one UTF-8 buffer plus offsets, and
rows are handed on as they are parsed.

Why our own XLSX reader: openpyxl's read-only mode pads every row to the
declared width and keeps shared strings as Python objects; python-calamine
loads the whole sheet into a dense grid before the first row. Neither can
refuse a hostile sheet before paying for it.

CSV: UTF-8 (BOM or not), UTF-16/32 (BOM or not), then GB18030 (⊃ GBK); a
file that only decodes into replacement characters or implausible
characters (Latin-1 read as GBK gives "Z黵ich") is refused, naming the
encoding charset-normalizer thinks it is.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from array import array
from dataclasses import dataclass
from typing import IO, Iterator
from xml.parsers import expat

from flask_babel import lazy_gettext as _l

from shipments import labels
from shipments.services import shipments as rules

MAX_FILE_ROWS = 100_000
HEADER_SEARCH_ROWS = 10  # title rows tolerated above the header
MAX_COLUMNS = 100  # the template has 14; a sheet wider than this is not an order list
MAX_CELL_CHARS = 2_000
MAX_LINE_CHARS = 64_000  # one CSV line (a row); longer lines are refused before csv parses them
# XLSX (a ZIP of XML parts)
MAX_PARTS = 1_000
MAX_UNCOMPRESSED = 256 * 1024 * 1024  # all parts we read, as declared by the archive (and enforced by zipfile)
MAX_RATIO = 200  # uncompressed / compressed for any part over 1 MB: a zip bomb is ≈ 1,000
MAX_SHARED_STRINGS = 2_000_000
MAX_SHARED_STRING_BYTES = 32 * 1024 * 1024
_READ = 1 << 16

# code -> message (Flask-Babel: English msgid, Chinese in messages.po), %(placeholders)s from the params.
FILE_MESSAGES = {
    "empty": _l("the file is empty"),
    "no_number_column": _l("no tracking-number column found (a header such as 运单号/number is needed in the first "
                           "10 rows)"),
    "too_many_rows": _l("the file has more than %(max)s rows: split it"),
    "unreadable": _l("unreadable file: upload CSV (UTF-8 or GBK) or Excel (.xlsx)"),
    "too_many_items": _l("at most %(max)s items at once"),
    "too_many_columns": _l("the sheet is wider than %(max)s columns (cell %(cell)s): keep only the shipment columns"),
    "cell_too_large": _l("row %(row)s has a cell longer than %(max)s characters"),
    "line_too_long": _l("line %(row)s is longer than %(max)s characters"),
    "too_large_unpacked": _l("the Excel file unpacks to more than %(max)s MB: split it or save it as CSV"),
    "zip_bomb": _l("the Excel file has an implausible compression ratio (%(part)s)"),
    "too_many_strings": _l("the Excel file holds too much text (more than %(max)s strings): split it"),
    "xls": _l("old .xls files are not supported: save as .xlsx or CSV"),
    "not_xlsx": _l("not an Excel (.xlsx) workbook: save as .xlsx or CSV"),
    "not_spreadsheet": _l("the file is named as Excel (.xlsx/.xls) but is not a spreadsheet: save it as .xlsx or "
                          "CSV from Excel and upload again"),
    "encoding": _l("cannot read the file's encoding (it looks like %(guess)s): save it as CSV in UTF-8 or GBK"),
    "replacement_characters": _l("the file contains replacement characters (�): save it again as UTF-8 CSV"),
}
TOO_LARGE = {"too_many_rows", "too_many_items", "too_many_columns", "too_large_unpacked", "zip_bomb",
             "too_many_strings", "cell_too_large", "line_too_long"}


class FileRejected(ValueError):
    """A whole upload that cannot be imported; nothing was written."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params

    @property
    def status(self) -> int:
        """413 for files over a size limit, 422 for files we cannot read."""
        return 413 if self.code in TOO_LARGE else 422

    def text(self, lang: str | None = "zh") -> str:
        """What is wrong with the file, in a language (zh or en; None: the page's)."""
        return labels.text(FILE_MESSAGES[self.code], lang, **self.params)


@dataclass
class Table:
    """An opened upload: its rows keyed by field key, and a size estimate."""

    rows: Iterator[tuple[int, dict]]
    columns: dict[str, str]  # field key -> header as written in the file
    estimated_rows: int
    blank: int = 0  # blank rows below the header that `rows` has passed over so far


def open_table(stream: IO[bytes], max_rows: int = MAX_FILE_ROWS, filename: str | None = None) -> Table:
    """Open a CSV or XLSX upload (seekable binary stream) for import, refusing hostile files."""
    head = stream.read(8)
    stream.seek(0)
    if not head:
        raise FileRejected("empty")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRejected("xls")
    sheet = head.startswith(b"PK\x03\x04")
    if sheet:
        cells, estimate = xlsx_cells(stream, max_rows + HEADER_SEARCH_ROWS)
    elif (filename or "").lower().endswith((".xlsx", ".xls")):
        raise FileRejected("not_spreadsheet")
    else:
        cells, estimate = csv_cells(stream)
    if estimate > max_rows + HEADER_SEARCH_ROWS:
        raise FileRejected("too_many_rows", max=max_rows)
    return _with_header(cells, estimate, numbered_rows=sheet)


# --------------------------------------------------------------------- XLSX
_CELL_REF = re.compile(r"([A-Z]{1,3})(\d{1,7})$")
_MAIN_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _column_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    return index - 1


def _parse_ref(ref: str) -> tuple[int, int] | None:
    match = _CELL_REF.match(ref.upper())
    return (int(match.group(2)), _column_index(match.group(1))) if match else None


def _local(name: str) -> str:
    return name.rpartition(":")[2]


def _parser() -> "expat.XMLParserType":
    # No DTDs in an XLSX: refuse them outright (entity expansion, external entities).
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.buffer_size = _READ

    def refuse(*_args):
        raise FileRejected("not_xlsx")
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    return parser


def _feed(parser, member: IO[bytes]) -> Iterator[None]:
    """Feed a part to the parser block by block, yielding after each block."""
    try:
        while block := member.read(_READ):
            parser.Parse(block, False)
            yield
        parser.Parse(b"", True)
        yield
    except expat.ExpatError as exc:
        raise FileRejected("unreadable") from exc


class _Archive:
    """The XLSX's ZIP with its declared sizes checked before anything is unpacked."""

    def __init__(self, stream):
        try:
            self.zip = zipfile.ZipFile(stream)
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise FileRejected("unreadable") from exc
        if len(infos) > MAX_PARTS:
            raise FileRejected("not_xlsx")
        self.names = {info.filename for info in infos}
        if sum(info.file_size for info in infos) > MAX_UNCOMPRESSED:
            raise FileRejected("too_large_unpacked", max=MAX_UNCOMPRESSED >> 20)
        for info in infos:
            if info.file_size > 1 << 20 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise FileRejected("zip_bomb", part=info.filename[:60])

    def open(self, name: str):
        # zipfile never returns more than the declared (checked) size of a part.
        try:
            return self.zip.open(name)
        except (KeyError, zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
            raise FileRejected("unreadable") from exc

    def first_sheet(self) -> str:
        if "xl/workbook.xml" not in self.names:
            raise FileRejected("not_xlsx")
        first: list[str] = []
        targets: dict[str, str] = {}

        def workbook_start(name, attrs):
            if _local(name) == "sheet" and not first:
                first.extend(v for k, v in attrs.items() if _local(k) == "id")

        def rels_start(name, attrs):
            if _local(name) == "Relationship":
                targets[attrs.get("Id", "")] = attrs.get("Target", "")

        for part, handler in (("xl/workbook.xml", workbook_start), ("xl/_rels/workbook.xml.rels", rels_start)):
            if part not in self.names:
                continue
            parser = _parser()
            parser.StartElementHandler = handler
            with self.open(part) as member:
                for _ in _feed(parser, member):
                    pass
        target = targets.get(first[0], "") if first else ""
        if target:
            target = target.lstrip("/")
            name = target if target.startswith("xl/") else "xl/" + target
            if name in self.names:
                return name
        fallback = sorted(n for n in self.names if n.startswith("xl/worksheets/") and n.endswith(".xml"))
        if not fallback:
            raise FileRejected("not_xlsx")
        return fallback[0]

    def shared_strings(self) -> "_SharedStrings":
        strings = _SharedStrings()
        name = "xl/sharedStrings.xml"
        if name not in self.names:
            return strings
        parser = _parser()
        state = {"in_si": False, "in_t": False, "skip": 0}
        parts: list[str] = []

        def start(tag, _attrs):
            tag = _local(tag)
            if tag == "si":
                state["in_si"] = True
                parts.clear()
            elif tag in ("rPh", "phoneticPr"):
                state["skip"] += 1  # phonetic guides are not cell text
            elif tag == "t" and state["in_si"] and not state["skip"]:
                state["in_t"] = True

        def end(tag):
            tag = _local(tag)
            if tag == "t":
                state["in_t"] = False
            elif tag in ("rPh", "phoneticPr"):
                state["skip"] -= 1
            elif tag == "si":
                state["in_si"] = False
                strings.add("".join(parts))

        def text(data):
            if state["in_t"]:
                parts.append(data)
                if len(parts) > 64 and sum(map(len, parts)) > MAX_CELL_CHARS:
                    raise FileRejected("cell_too_large", row="?", max=MAX_CELL_CHARS)

        parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, text
        with self.open(name) as member:
            for _ in _feed(parser, member):
                pass
        return strings


class _SharedStrings:
    """The workbook's shared strings as one UTF-8 buffer and offsets (≈ 1 byte per byte of text)."""

    def __init__(self):
        self.buffer = bytearray()
        self.offsets = array("Q", [0])

    def add(self, text: str) -> None:
        if len(text) > MAX_CELL_CHARS:
            raise FileRejected("cell_too_large", row="?", max=MAX_CELL_CHARS)
        if len(self.offsets) > MAX_SHARED_STRINGS:
            raise FileRejected("too_many_strings", max=MAX_SHARED_STRINGS)
        self.buffer += text.encode("utf-8")
        if len(self.buffer) > MAX_SHARED_STRING_BYTES:
            raise FileRejected("too_many_strings", max=MAX_SHARED_STRINGS)
        self.offsets.append(len(self.buffer))

    def __getitem__(self, index: int) -> str:
        if not 0 <= index < len(self.offsets) - 1:
            return ""
        return self.buffer[self.offsets[index]:self.offsets[index + 1]].decode("utf-8")


def xlsx_cells(stream, max_row_number: int) -> tuple[Iterator[tuple[int, list]], int]:
    """Rows (row number, cell values) of the first sheet, streamed; and the declared row count."""
    archive = _Archive(stream)
    sheet_name = archive.first_sheet()
    declared = _declared_dimension(archive, sheet_name)
    if declared is not None:
        (first_row, first_col), (last_row, last_col) = declared
        if last_col >= MAX_COLUMNS:
            raise FileRejected("too_many_columns", max=MAX_COLUMNS, cell=_ref_text(last_row, last_col))
        if last_row > max_row_number:
            raise FileRejected("too_many_rows", max=max_row_number - HEADER_SEARCH_ROWS)
        estimate = last_row - first_row + 1
    else:
        estimate = 0
    strings = archive.shared_strings()
    return _sheet_rows(archive, sheet_name, strings, max_row_number), estimate


def _ref_text(row: int, col: int) -> str:
    letters = ""
    col += 1
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row}"


def _declared_dimension(archive: _Archive, sheet_name: str):
    """The sheet's <dimension ref="A1:XFD1048576"/>, read from its first few KB only."""
    parser = _parser()
    found: list[str] = []

    class Stop(Exception):
        pass

    def start(tag, attrs):
        tag = _local(tag)
        if tag == "dimension":
            found.append(attrs.get("ref", ""))
            raise Stop
        if tag == "sheetData":
            raise Stop
    parser.StartElementHandler = start
    with archive.open(sheet_name) as member:
        try:
            for _ in _feed(parser, member):
                pass
        except Stop:
            pass
    if not found:
        return None
    ends = [_parse_ref(p) for p in found[0].split(":")]
    if not ends or any(e is None for e in ends):
        return None
    return ends[0], ends[-1]


def _sheet_rows(archive: _Archive, sheet_name: str, strings: _SharedStrings, max_row_number: int):
    # The hot loop of an XLSX upload (three or four callbacks per cell): plain closure
    # variables instead of a state dict, and two small caches instead of a regex per cell:
    # local tag names, and column letters → index (a sheet has few distinct letters).
    parser = _parser()
    done: list[tuple[int, list]] = []
    row: dict[int, object] = {}
    text: list[str] = []
    row_number, col, kind, in_value = 0, -1, "n", False
    local_names: dict[str, str] = {}
    column_of: dict[str, int] = {}

    def local(tag: str) -> str:
        name = local_names.get(tag)
        if name is None:
            if len(local_names) > 64:  # a hostile sheet's endless distinct tag names: no cache
                return _local(tag)
            name = local_names[tag] = _local(tag)
        return name

    def column(ref: str | None) -> int:
        if ref:
            letters = ref.rstrip("0123456789")
            if 0 < len(ref) - len(letters) <= 7:
                index = column_of.get(letters)
                if index is not None:
                    return index
            parsed = _parse_ref(ref)
            if parsed is None:
                return col + 1
            if letters.isascii() and letters.isalpha() and len(column_of) < 1024:
                column_of[letters] = parsed[1]  # what _parse_ref gives any ref with these letters
            return parsed[1]
        return col + 1

    def start(tag, attrs):
        nonlocal row_number, col, kind, in_value
        tag = local(tag)
        if tag == "c":
            col = column(attrs.get("r"))
            if col >= MAX_COLUMNS:
                raise FileRejected("too_many_columns", max=MAX_COLUMNS, cell=_ref_text(row_number, col))
            kind = attrs.get("t", "n")
            text.clear()
        elif tag == "v" or tag == "t":  # <t> inside <is> for inline strings
            in_value = True
        elif tag == "row":
            number = attrs.get("r")
            row_number = int(number) if number and number.isdigit() else row_number + 1
            if row_number > max_row_number:
                raise FileRejected("too_many_rows", max=max_row_number - HEADER_SEARCH_ROWS)
            col = -1
            row.clear()

    def end(tag):
        nonlocal in_value
        tag = local(tag)
        if tag == "v" or tag == "t":
            in_value = False
        elif tag == "c":
            if text:
                row[col] = _cell_value(kind, "".join(text), strings, row_number)
        elif tag == "row":
            if row:
                width = max(row) + 1
                done.append((row_number, [row.get(i) for i in range(width)]))

    def characters(data):
        if in_value:
            text.append(data)
            if len(data) > MAX_CELL_CHARS or (len(text) > 1 and sum(map(len, text)) > MAX_CELL_CHARS):
                raise FileRejected("cell_too_large", row=row_number, max=MAX_CELL_CHARS)

    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, characters

    def rows():
        with archive.open(sheet_name) as member:
            for _ in _feed(parser, member):
                yield from done
                done.clear()
    return rows()


def _cell_value(kind: str, raw: str, strings: _SharedStrings, row: int):
    if kind == "s":
        return strings[int(raw)] if raw.strip().isdigit() else ""
    if kind in ("inlineStr", "str", "e"):
        return raw
    if kind == "b":
        return raw.strip() == "1"
    try:
        number = float(raw)
    except ValueError:
        return raw
    return int(number) if number.is_integer() and abs(number) < 1e15 else number


# ---------------------------------------------------------------------- CSV
def csv_cells(stream) -> tuple[Iterator[tuple[int, list]], int]:
    """Rows (line number, cells) of a CSV or tab-separated upload, and its line count."""
    encoding, lines = detect_encoding(stream)
    wrapper = io.TextIOWrapper(stream, encoding=encoding, newline="")
    sample = wrapper.read(_READ)
    wrapper.seek(0)
    first_line = sample.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","

    def bounded_lines():
        number = 0
        while True:
            line = wrapper.readline(MAX_LINE_CHARS)
            if not line:
                return
            number += 1
            if len(line) >= MAX_LINE_CHARS and not line.endswith("\n"):
                raise FileRejected("line_too_long", row=number, max=MAX_LINE_CHARS)
            yield line

    def cells():
        reader = csv.reader(bounded_lines(), delimiter=delimiter)
        try:
            for row in reader:
                if len(row) > MAX_COLUMNS:
                    raise FileRejected("too_many_columns", max=MAX_COLUMNS, cell=_ref_text(reader.line_num, len(row) - 1))
                yield reader.line_num, row
        except csv.Error as exc:
            raise FileRejected("unreadable") from exc
        finally:
            try:
                wrapper.detach()  # leave the caller's stream open
            except ValueError:
                pass  # the caller closed it already (an abandoned import)
    return cells(), lines


_BOMS = (  # longest first: the UTF-32 LE BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)


def _without_bom_guess(sample: bytes) -> list[str]:
    """Candidate encodings for a file without a BOM, from where its NUL bytes sit."""
    if b"\x00" not in sample:
        return ["utf-8", "gb18030"]
    sample = sample[:len(sample) - len(sample) % 4]
    quads = [sample[i::4].count(0) for i in range(4)]
    pairs = [quads[0] + quads[2], quads[1] + quads[3]]
    total = max(len(sample), 1)
    candidates = []
    # ASCII in UTF-32 LE: x 0 0 0; BE: 0 0 0 x. UTF-16 LE: x 0; BE: 0 x.
    if quads[1] > total / 8 and quads[2] > total / 8 and quads[3] > total / 8:
        candidates.append("utf-32-le")
    if quads[0] > total / 8 and quads[1] > total / 8 and quads[2] > total / 8:
        candidates.append("utf-32-be")
    if pairs[1] > pairs[0]:
        candidates.append("utf-16-le")
    else:
        candidates.append("utf-16-be")
    return candidates


def detect_encoding(stream) -> tuple[str, int]:
    """The upload's text encoding, checked over the whole file; and its line count."""
    head = stream.read(_READ)
    stream.seek(0)
    for bom, name in _BOMS:
        if head.startswith(bom):
            candidates = [name]
            break
    else:
        candidates = _without_bom_guess(head)
    # The whole file is checked before anything is written, so a bad byte
    # deep in the file rejects the upload instead of half-importing it.
    decoders = {name: codecs.getincrementaldecoder(name)() for name in candidates}
    odd = {name: [0, 0] for name in candidates}  # characters outside GB2312, non-ASCII characters
    replaced = set()
    lines = dict.fromkeys(candidates, 0)
    while block := stream.read(1 << 20):
        for name, decoder in list(decoders.items()):
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError:
                del decoders[name]
                continue
            lines[name] += text.count("\n")
            if "\ufffd" in text:
                replaced.add(name)
            if name == "gb18030":
                _count_implausible(text, odd[name])
    for name, decoder in list(decoders.items()):
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            del decoders[name]
    for name in list(decoders):
        rare, non_ascii = odd[name]
        # Chinese order lists are nearly all GB2312 characters; Latin-1 or Shift-JIS
        # bytes read as GBK land mostly outside it ("Zürich" → "Z黵ich").
        if non_ascii and rare > max(2, non_ascii // 5):
            del decoders[name]
    stream.seek(0)
    if not decoders:
        raise FileRejected("encoding", guess=_guess(head))
    encoding = next(iter(decoders))
    if encoding in replaced:
        raise FileRejected("replacement_characters")
    return encoding, lines[encoding] + 1


def _count_implausible(text: str, counts: list[int]) -> None:
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    if not non_ascii:
        return
    # Full-width forms and CJK punctuation people type are in GB2312 too.
    outside = text.encode("gb2312", "replace").count(b"?") - text.count("?")
    counts[0] += outside
    counts[1] += non_ascii


def _guess(sample: bytes) -> str:
    """charset-normalizer's best guess at an encoding, for the message."""
    from charset_normalizer import from_bytes

    best = from_bytes(sample[:_READ]).best()
    names = {"cp1252": "Latin-1 / Windows-1252", "latin_1": "Latin-1", "iso8859_1": "Latin-1",
             "shift_jis": "Shift-JIS", "cp932": "Shift-JIS", "euc_jp": "EUC-JP", "big5": "Big5",
             "euc_kr": "EUC-KR", "cp949": "EUC-KR"}
    if best is None:
        return "?"
    return names.get(best.encoding, best.encoding)


# ------------------------------------------------------------------ header
def _with_header(cells: Iterator[tuple[int, list]], estimate: int, numbered_rows: bool = False) -> Table:
    searched = 0
    for row_no, row in cells:
        texts = [rules.header_key(c) for c in row]
        if not any(texts):
            continue  # blank rows above the header
        searched += 1
        keys = [rules.HEADER_TO_KEY.get(t) for t in texts]
        if "number" in keys:
            index: dict[str, int] = {}
            for i, key in enumerate(keys):
                if key is not None and key not in index:
                    index[key] = i
            columns = {key: rules.clean_text(row[i]) for key, i in index.items()}
            table = Table(iter(()), columns, max(estimate - row_no, 0))
            table.rows = _data_rows(cells, index, table, row_no if numbered_rows else None)
            return table
        if searched >= HEADER_SEARCH_ROWS:
            break
    if searched == 0:
        raise FileRejected("empty")
    raise FileRejected("no_number_column")


def _data_rows(cells, index: dict[str, int], table: Table, header_row: int | None) -> Iterator[tuple[int, dict]]:
    """The data rows below the header, counting the blank ones (no value in a known column) in table.blank.

    Rows that hold nothing at all (an empty CSV line; in a sheet, row numbers it leaves out, given
    header_row) are blank only when a later row holds something: a file's trailing newlines are not rows.
    """
    pairs = list(index.items())
    previous, empty = header_row, 0
    for row_no, row in cells:
        if previous is not None:
            empty += row_no - previous - 1
            previous = row_no
        if not row:
            empty += 1
            continue
        table.blank += empty
        empty = 0
        width = len(row)
        record = {key: row[i] for key, i in pairs if i < width}
        if all(v is None or v == "" or (isinstance(v, str) and not v.strip()) for v in record.values()):
            table.blank += 1  # blank rows are tolerated, and counted apart from invalid ones
            continue
        yield row_no, record
