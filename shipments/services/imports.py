"""Bulk registration: JSON arrays, CSV and spreadsheet files, one service.

Counts (ImportReport): every row is exactly one of created, updated,
duplicate_in_file, already_registered, registered_by_other_org or invalid;
`needs_phone` counts the created SF/ZTO rows that wait for phone digits, and
`updated` the rows already ours that this upload gave those digits.

Rows stream through in chunks: each chunk is cleaned with the rules of
services/shipments.py, written with one multi-row INSERT … ON CONFLICT DO
NOTHING, and committed by the caller's `commit` (services never commit
themselves), so a crash never half-writes a chunk and uploading the same
file again creates nothing. Memory stays flat apart from the set of keys
seen so far, which the duplicate-in-file check needs (bounded by the
100,000-row limit).
"""
import codecs
import csv
import io
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Iterable, Iterator

from sqlalchemy import Select, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shipments.db import utcnow
from shipments.models import ImportBatch, Shipment
from shipments.models.enums import RegistrationSource
from shipments.services import shipments as rules
from shipments.services import tracking
from shipments.services import webhooks
from shipments.services.carriers import choose_provider

MAX_FILE_ROWS = 100_000
MAX_JSON_ROWS = 10_000
CHUNK_ROWS = 5_000
MAX_LISTED_PROBLEMS = 1_000
HEADER_SEARCH_ROWS = 10  # title rows tolerated above the header
_SAMPLE = 1 << 16

FILE_MESSAGES = {
    "empty": ("文件为空", "the file is empty"),
    "no_number_column": ("找不到“运单号”列（前 10 行内需有表头，如：运单号、快递公司、手机尾号）",
                         "no tracking-number column found (a header such as 运单号/number is needed in the first 10 rows)"),
    "too_many_rows": ("文件超过 {max} 行，请拆分后上传", "the file has more than {max} rows: split it"),
    "unreadable": ("无法读取文件：请上传 CSV（UTF-8 或 GBK）或 Excel 文件", "unreadable file: upload CSV (UTF-8 or GBK) or Excel"),
    "too_many_items": ("一次最多 {max} 条", "at most {max} items at once"),
}


class FileRejected(ValueError):
    """A whole upload that cannot be imported; nothing was written."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params

    def text(self, lang: str = "zh") -> str:
        zh, en = FILE_MESSAGES[self.code]
        return (en if lang == "en" else zh).format(**self.params)


@dataclass
class ImportReport:
    """Counts of what became of each row, and the problem rows."""

    rows: int = 0
    created: int = 0
    needs_phone: int = 0  # of `created`: SF/ZTO registered without phone digits, waiting for them
    updated: int = 0  # already ours, and this upload added the phone digits they were waiting for
    duplicate_in_file: int = 0
    already_registered: int = 0
    registered_by_other_org: int = 0
    invalid: int = 0
    problems: list[tuple[int, str, str, str, dict]] = field(default_factory=list)  # row, field, column, code, params
    problems_truncated: bool = False

    def add_problem(self, row: int, field_key: str, column: str, code: str, params: dict) -> None:
        if len(self.problems) < MAX_LISTED_PROBLEMS:
            self.problems.append((row, field_key, column, code, params))
        else:
            self.problems_truncated = True

    def as_dict(self, lang: str = "zh") -> dict:
        """The report with messages in a language (zh or en)."""
        return {
            "rows": self.rows, "created": self.created, "needs_phone": self.needs_phone, "updated": self.updated,
            "duplicate_in_file": self.duplicate_in_file,
            "already_registered": self.already_registered, "registered_by_other_org": self.registered_by_other_org,
            "invalid": self.invalid, "problems_truncated": self.problems_truncated,
            "problems": [{"row": row, "field": key, "column": column, "code": code,
                          "message": rules.message(code, lang, **params)}
                         for row, key, column, code, params in sorted(self.problems, key=lambda p: p[0])],
        }


# ------------------------------------------------------------------ writing
def _insert_statement(dialect_name: str):
    table = Shipment.__table__
    insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    return (insert(table).on_conflict_do_nothing(index_elements=["carrier", "tracking_number"])
            .returning(table.c.carrier, table.c.tracking_number))


def import_rows(session: Session, rows: Iterable[tuple[int, Any]], organisation_id: int, *, providers: dict,
                commit: Callable[[], None], any_program: bool = False, program_id: int | None = None,
                columns: dict[str, str] | None = None, progress: Callable[[int], None] | None = None,
                chunk_rows: int = CHUNK_ROWS, batch: ImportBatch | None = None) -> ImportReport:
    """Register rows (row number, dict keyed by field key) for an organisation, chunk by chunk.

    `commit` is called after each chunk; `columns` maps field keys to the
    caller's column headers for the report; `progress` gets the rows done.
    With a `batch` (start_batch) every new shipment records the batch and its
    row, and the batch keeps the report.
    """
    lookups = rules.Lookups.load(session, organisation_id, any_program=any_program, default_program_id=program_id)
    statement = _insert_statement(session.get_bind().dialect.name)
    report = ImportReport()
    seen: dict[tuple[str, str], int] = {}
    columns = columns or {}
    provider_of: dict[tuple[str, bool], str] = {}
    chunk: list[tuple[int, dict]] = []
    done = 0

    def flush() -> None:
        nonlocal done
        if chunk:
            _write_chunk(session, statement, chunk, organisation_id, providers, provider_of, report, columns)
            commit()
            chunk.clear()
        if progress:
            progress(report.rows - done)
        done = report.rows

    for row_no, raw in rows:
        report.rows += 1
        if not isinstance(raw, dict):
            report.invalid += 1
            report.add_problem(row_no, "", "", "not_an_object", {})
            continue
        values, problems = rules.clean_row(raw, lookups)
        if problems:
            report.invalid += 1
            for p in problems:
                report.add_problem(row_no, p.field, columns.get(p.field, p.field), p.code, p.params)
        else:
            key = (values["carrier"], values["tracking_number"])
            first = seen.get(key)
            if first is not None:
                report.duplicate_in_file += 1
                report.add_problem(row_no, "number", columns.get("number", "number"), "duplicate_in_file",
                                   {"first": first})
            else:
                seen[key] = row_no
                if batch is not None:
                    values.update(source=RegistrationSource.IMPORT, import_batch_id=batch.id, import_row=row_no,
                                  registered_by_user_id=batch.uploaded_by_user_id,
                                  registered_by_token_id=batch.uploaded_by_token_id)
                chunk.append((row_no, values))
        if report.rows - done >= chunk_rows:
            flush()
    flush()
    if batch is not None:
        finish_batch(batch, report)
        commit()
    return report


def start_batch(session: Session, organisation_id: int, file_name: str | None, *, user_id: int | None = None,
                token_id: int | None = None) -> ImportBatch:
    """Open the record of one upload (flushed, so its rows can point at it)."""
    batch = ImportBatch(organisation_id=organisation_id, file_name=(file_name or None) and file_name[:200],
                        uploaded_by_user_id=user_id, uploaded_by_token_id=token_id, created_at=utcnow())
    session.add(batch)
    session.flush()
    return batch


def finish_batch(batch: ImportBatch, report: ImportReport) -> None:
    """Keep an upload's counts and row report with its batch."""
    batch.rows, batch.created, batch.invalid = report.rows, report.created, report.invalid
    batch.duplicates = report.duplicate_in_file + report.already_registered + report.registered_by_other_org
    batch.report = report.as_dict("zh")


def list_batches(caller, after_id: int | None = None) -> Select:
    """Select the import batches a caller may read, newest first (keyset on id)."""
    query = select(ImportBatch)
    if not caller.sees_everything:
        query = query.where(ImportBatch.organisation_id == caller.organisation_id)
    if after_id is not None:
        query = query.where(ImportBatch.id < after_id)
    return query.order_by(ImportBatch.id.desc())


def _write_chunk(session, statement, chunk, organisation_id, providers, provider_of, report, columns) -> None:
    now = utcnow()
    params = []
    for _, values in chunk:
        carrier, number = values["carrier"], values["tracking_number"]
        international = number[-2:] != "CN" and rules.is_s10_shaped(number)
        provider = provider_of.get((carrier, international))
        if provider is None:
            provider = provider_of[(carrier, international)] = choose_provider(carrier, number, providers)
        params.append(rules.new_shipment_columns(values, organisation_id, provider, now))
    if session.get_bind().dialect.name == "postgresql":
        inserted = _insert_postgresql(session, params)
    else:
        inserted = {(c, n) for c, n in session.execute(statement, params)}
    report.created += len(inserted)
    webhooks.record_registered_numbers(session, organisation_id, inserted, now=now)
    report.needs_phone += sum(1 for row in params if row["stop_reason"] is not None
                              and (row["carrier"], row["tracking_number"]) in inserted)
    rest = [(row_no, values) for row_no, values in chunk
            if (values["carrier"], values["tracking_number"]) not in inserted]
    if not rest:
        return
    keys = [(values["carrier"], values["tracking_number"]) for _, values in rest]
    owners = rules.owners_of(session, keys)
    # Our rows waiting for digits this upload now gives: add them (and poll them again).
    waiting = rules.waiting_for_phone(session, organisation_id,
                                      [key for (_, values), key in zip(rest, keys) if values.get("phone_last4")])
    for row_no, values in rest:
        key = (values["carrier"], values["tracking_number"])
        if key in waiting:
            tracking.set_phone_last4(waiting[key], values["phone_last4"], now=now)
            report.updated += 1
        elif owners.get(key, organisation_id) == organisation_id:
            report.already_registered += 1
        else:
            report.registered_by_other_org += 1
            report.add_problem(row_no, "number", columns.get("number", "number"), "registered_by_other_org", {})


_COPY_COLUMNS = tuple(rules.new_shipment_columns(
    {"carrier": "", "tracking_number": ""}, 0, "", utcnow()))


def _insert_postgresql(session: Session, params: list[dict]) -> set[tuple[str, str]]:
    # Raw SQL because the ORM cannot say COPY: a multi-row INSERT … VALUES of
    # 1,000 rows × 24 parameters costs psycopg ≈ 0.2 s just to parse, whereas
    # COPY into a scratch table and one INSERT … SELECT … ON CONFLICT DO
    # NOTHING runs at close to COPY speed (bench/import.py). Same transaction.
    connection = session.connection()
    names = ", ".join(_COPY_COLUMNS)
    connection.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS shipment_import AS SELECT {names} FROM shipments WITH NO DATA")
    with connection.connection.driver_connection.cursor() as cursor:
        with cursor.copy(f"COPY shipment_import ({names}) FROM STDIN") as copy:
            for row in params:
                copy.write_row([row[name] for name in _COPY_COLUMNS])  # str enums dump as their values
    inserted = connection.exec_driver_sql(
        f"INSERT INTO shipments ({names}) SELECT {names} FROM shipment_import "
        "ON CONFLICT (carrier, tracking_number) DO NOTHING RETURNING carrier, tracking_number").all()
    connection.exec_driver_sql("TRUNCATE shipment_import")
    return {(carrier, number) for carrier, number in inserted}


def json_rows(items: list) -> Iterator[tuple[int, Any]]:
    """Number the items of a JSON array from 1."""
    if len(items) > MAX_JSON_ROWS:
        raise FileRejected("too_many_items", max=MAX_JSON_ROWS)
    return enumerate(items, start=1)


# ------------------------------------------------------------------ reading
@dataclass
class Table:
    """An opened upload: its rows keyed by field key, and a size estimate."""

    rows: Iterator[tuple[int, dict]]
    columns: dict[str, str]  # field key -> header as written in the file
    estimated_rows: int


def open_table(stream: IO[bytes], max_rows: int = MAX_FILE_ROWS) -> Table:
    """Open a CSV or spreadsheet upload (seekable binary stream) for import."""
    head = stream.read(8)
    stream.seek(0)
    if not head:
        raise FileRejected("empty")
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        cells, estimate = _spreadsheet_cells(stream)
    else:
        cells, estimate = _csv_cells(stream)
    if estimate > max_rows + HEADER_SEARCH_ROWS:
        raise FileRejected("too_many_rows", max=max_rows)
    return _with_header(cells, estimate)


def _spreadsheet_cells(stream) -> tuple[Iterator[tuple[int, list]], int]:
    # python-calamine (Rust) reads ≈ 14× faster than openpyxl's read-only mode
    # (issue 5's measurements); it holds the sheet's cells natively and hands
    # rows to Python one at a time.
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        sheet = CalamineWorkbook.from_filelike(stream).get_sheet_by_index(0)
    except (CalamineError, ValueError, OSError) as exc:
        raise FileRejected("unreadable") from exc
    first_row = sheet.start[0] + 1 if sheet.start else 1

    def cells():
        for offset, row in enumerate(sheet.iter_rows()):
            yield first_row + offset, row
    return cells(), sheet.height


def _csv_cells(stream) -> tuple[Iterator[tuple[int, list]], int]:
    encoding, lines = _sniff_encoding(stream)
    wrapper = io.TextIOWrapper(stream, encoding=encoding, newline="")
    sample = wrapper.read(_SAMPLE)
    wrapper.seek(0)
    first_line = sample.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","

    def cells():
        reader = csv.reader(wrapper, delimiter=delimiter)
        try:
            for row in reader:
                yield reader.line_num, row
        except csv.Error as exc:
            raise FileRejected("unreadable") from exc
        finally:
            wrapper.detach()
    return cells(), lines


def _sniff_encoding(stream) -> tuple[str, int]:
    """Pick UTF-8 (with or without BOM), UTF-16 or GB18030 (⊃ GBK); count lines on the way."""
    head = stream.read(4)
    stream.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8"
    # The whole file is checked before anything is written, so a bad byte
    # deep in the file rejects the upload instead of half-importing it.
    decoders = {name: codecs.getincrementaldecoder(name)() for name in
                ((encoding, "gb18030") if encoding == "utf-8" else (encoding,))}
    lines = 0
    while block := stream.read(1 << 20):
        lines += block.count(b"\n")
        for name, decoder in list(decoders.items()):
            try:
                decoder.decode(block)
            except UnicodeDecodeError:
                del decoders[name]
    for name, decoder in list(decoders.items()):
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            del decoders[name]
    if not decoders:
        raise FileRejected("unreadable")
    encoding = next(iter(decoders))
    stream.seek(0)
    return encoding, lines + 1


def _with_header(cells: Iterator[tuple[int, list]], estimate: int) -> Table:
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
            return Table(_data_rows(cells, index), columns, max(estimate - row_no, 0))
        if searched >= HEADER_SEARCH_ROWS:
            break
    if searched == 0:
        raise FileRejected("empty")
    raise FileRejected("no_number_column")


def _data_rows(cells, index: dict[str, int]) -> Iterator[tuple[int, dict]]:
    pairs = list(index.items())
    for row_no, row in cells:
        width = len(row)
        record = {key: row[i] for key, i in pairs if i < width}
        if all(v is None or v == "" or (isinstance(v, str) and not v.strip()) for v in record.values()):
            continue  # blank rows are tolerated
        yield row_no, record


# ---------------------------------------------------------------- templates
EXAMPLE = {
    "number": "SBX0000000001", "carrier": "sandbox", "phone_last4": "5678", "program_id": "",
    "channel": "抖音", "direction": "出村", "origin_division_code": "诸暨市", "destination_province": "广东省",
    "destination_city": "深圳市", "pieces": "1", "weight_kg": "0.3", "declared_value": "199.00",
    "order_ref": "DY20261120001", "batch_label": "",
}


def template_rows(lang: str = "zh") -> list[list[str]]:
    """Header and one example row of the upload template."""
    header = [f.zh if lang != "en" else f.key for f in rules.FIELDS]
    return [header, [EXAMPLE[f.key] for f in rules.FIELDS]]


def template_csv(lang: str = "zh") -> bytes:
    """The upload template as UTF-8 CSV with a BOM (Excel opens it correctly)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(template_rows(lang))
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


def template_xlsx(lang: str = "zh") -> bytes:
    """The upload template as an Excel workbook (numbers stored as text)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("运单" if lang != "en" else "shipments")
    for row in template_rows(lang):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
