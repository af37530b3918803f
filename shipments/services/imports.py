"""Bulk registration: JSON arrays, CSV and spreadsheet files, one service.

Counts (ImportReport): every row is exactly one of created, updated,
duplicate_in_file, already_registered, registered_by_other_org or invalid;
`blank` counts a file's blank rows below its header apart (they are not rows);
`needs_phone` counts the created SF/ZTO rows that wait for phone digits, and
`updated` the rows already ours that this upload gave those digits.

Rows stream through in chunks: each chunk is cleaned with the rules of
services/shipments.py, written with one multi-row INSERT … ON CONFLICT DO
NOTHING, and committed by the caller's `commit` (services never commit
themselves), so a crash never half-writes a chunk and uploading the same
file again creates nothing. Memory stays flat: with an import batch (every
upload has one) a number repeated in another chunk of the file is found by
the database, where the first occurrence already carries this batch and its
row number, so only the current chunk's keys are held, plus the few keys this
upload found registered before it. (Holding every key seen, as before, was
≈ 20 MB of a 100,000-row upload's ≈ 31 MB.) Without a batch (the portal's
preview) or when resuming a kept import, every key is held as before.

Reading and validating (Python) and writing (mostly the database's own
process) overlap: a reader thread prepares chunk N+1 while the caller's
thread writes chunk N (_ChunkReader; bench/import.py measures it).
"""
import codecs
import csv
import io
import queue
import threading
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Iterable, Iterator

from sqlalchemy import Select, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shipments.db import utcnow
from shipments.models import ImportBatch, Shipment
from shipments.models.enums import RegistrationSource
from shipments.services import shipments as rules
from shipments.services import history, tracking
from shipments.services import webhooks
from shipments.services.carriers import choose_provider
# The readers live in services/spreadsheets.py (hard caps against hostile files).
from shipments.services.spreadsheets import (  # noqa: F401  (re-exported for callers)
    HEADER_SEARCH_ROWS, MAX_FILE_ROWS, FileRejected, Table, open_table,
)

MAX_JSON_ROWS = 10_000
CHUNK_ROWS = 5_000
MAX_LISTED_PROBLEMS = 1_000
READER_THREAD = True  # read and validate in a thread of its own (False: in the caller's; bench/import.py compares)


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
    blank: int = 0  # blank rows of a file, passed over (not in `rows`)
    problems: list[tuple[int, str, str, str, dict]] = field(default_factory=list)  # row, field, column, code, params
    problems_truncated: bool = False
    finished: bool = True  # False when `stop` ended the import early (a background job continues it)

    def state(self) -> dict:
        """Every count and the problems, as JSON-able values (kept with a background import)."""
        return {f.name: ([list(p) for p in self.problems] if f.name == "problems" else getattr(self, f.name))
                for f in fields(self)}

    @classmethod
    def from_state(cls, state: dict) -> "ImportReport":
        """The report a background import kept (see state())."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in (state or {}).items() if k in known}
        values["problems"] = [tuple(p) for p in values.get("problems", [])]
        return cls(**values)

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
            "invalid": self.invalid, "blank": self.blank, "problems_truncated": self.problems_truncated,
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
                chunk_rows: int = CHUNK_ROWS, batch: ImportBatch | None = None,
                resume: ImportReport | None = None, on_chunk: Callable[[ImportReport], None] | None = None,
                stop: Callable[[], bool] | None = None, blank: Callable[[], int] | None = None,
                change_source: str = "import") -> ImportReport:
    """Register rows (row number, dict keyed by field key) for an organisation, chunk by chunk.

    `commit` is called after each chunk; `columns` maps field keys to the
    caller's column headers for the report; `progress` gets the rows done.
    A background import passes `on_chunk` (called before each commit, to keep
    its state in the same transaction as the chunk), `stop` (asked after each
    chunk; True ends the import early with `finished` False) and, to carry on,
    `resume`: the kept report, whose `rows` first rows are only re-read.
    `blank` tells how many blank rows the file's reader has passed over so far (`lambda: table.blank`).
    With a `batch` (start_batch) every new shipment records the batch and its
    row, and the batch keeps the report. Digits added to rows already ours go
    to the edit history as `change_source` (import, or paste for the seller's).

    Two threads, one chunk apart: a reader thread reads and validates chunk
    N+1 while this (the caller's) thread writes chunk N; see _ChunkReader.
    Only the caller's thread touches the session, `commit` and the callbacks;
    the report counts a chunk only when this thread writes it, so what is
    committed (and kept by `on_chunk`) is exactly what a one-thread import
    would have committed at that point.
    """
    lookups = rules.Lookups.load(session, organisation_id, any_program=any_program, default_program_id=program_id)
    statement = _insert_statement(session.get_bind().dialect.name)
    report = resume or ImportReport()
    # Keys → the row that first had them: the current chunk's (every key when `hold_all`; the
    # reader's), and keys found registered before this upload (`held`; this thread's); see the
    # module docstring.
    hold_all = batch is None or resume is not None
    held: dict[tuple[str, str], int] = {}
    columns = columns or {}
    provider_of: dict[tuple[str, bool], str] = {}
    provenance = None
    if batch is not None:  # read here: the reader thread must not touch the session's objects
        provenance = dict(source=RegistrationSource.IMPORT, import_batch_id=batch.id,
                          registered_by_user_id=batch.uploaded_by_user_id,
                          registered_by_token_id=batch.uploaded_by_token_id)
    reader = _ChunkReader(rows, lookups, chunk_rows=chunk_rows, skip=report.rows if resume else 0,
                          hold_all=hold_all, provenance=provenance, blank=blank, threaded=READER_THREAD)
    done = report.rows
    try:
        while True:
            chunk = reader.next_chunk()
            write: list[tuple[int, dict]] = []
            report.rows += chunk.rows
            for row_no, outcome, detail in chunk.outcomes:
                if outcome is _INVALID:
                    report.invalid += 1
                    if detail is None:
                        report.add_problem(row_no, "", "", "not_an_object", {})
                        continue
                    for p in detail:
                        report.add_problem(row_no, p.field, columns.get(p.field, p.field), p.code, p.params)
                    continue
                key = (detail["carrier"], detail["tracking_number"])
                first = held.get(key)  # a key in `held` is never in the reader's chunk-local `seen`
                if first is None and outcome is _DUPLICATE:
                    first = detail["first"]
                if first is not None:
                    report.duplicate_in_file += 1
                    report.add_problem(row_no, "number", columns.get("number", "number"), "duplicate_in_file",
                                       {"first": first})
                else:
                    write.append((row_no, detail))
            if blank is not None:
                report.blank = chunk.blank_at_end  # a resumed import re-reads the file from the top
            if write:
                _write_chunk(session, statement, write, organisation_id, providers, provider_of, report, columns,
                             batch_id=None if hold_all else batch.id, held=held, change_source=change_source)
            if on_chunk:
                on_chunk(report)
            commit()
            if progress:
                progress(report.rows - done)
            done = report.rows
            if chunk.last:
                break
            if stop is not None and stop():
                following = reader.next_chunk()  # the reader is one chunk ahead: whether rows are left
                if blank is not None:
                    report.blank = following.blank_at_first
                if following.last and not following.rows:
                    break  # nothing left: the import is whole, and its batch keeps the report below
                report.finished = False
                return report
    finally:
        reader.close()
    report.finished = True
    if batch is not None:
        finish_batch(batch, report)
        commit()
    return report


_VALID, _DUPLICATE, _INVALID = "valid", "duplicate", "invalid"


@dataclass
class _Chunk:
    """One chunk as the reader thread hands it over: the rows it counts and what each row is.

    outcomes: (row, _VALID, column values) | (row, _DUPLICATE, {carrier, tracking_number, first})
    | (row, _INVALID, problems, or None for a JSON item that is not an object), in file order.
    """

    rows: int = 0
    outcomes: list = field(default_factory=list)
    blank_at_first: int = 0  # the reader's blank count when this chunk's first row was read
    blank_at_end: int = 0  # … and when its last row was read
    last: bool = False  # no rows follow


class _ChunkReader:
    """Reads and validates rows in a thread of its own, at most two chunks ahead of the writer.

    Parsing and validating is Python work; writing a chunk is mostly the
    database's (in its own process): overlapping them keeps both cores busy.
    The queue holds one finished chunk, and the thread builds the next, so
    memory stays constant. The thread never touches the session. An error in
    it (a hostile file found mid-way) is handed over in its place and raised
    by next_chunk() after the chunks before it are written, as a one-thread
    import would; an error in the writer closes the reader (close()).
    """

    def __init__(self, rows, lookups, *, chunk_rows: int, skip: int, hold_all: bool, provenance: dict | None,
                 blank: Callable[[], int] | None, threaded: bool = True):
        self._rows = iter(rows)
        self._lookups = lookups
        self._chunk_rows = chunk_rows
        self._skip = skip
        self._hold_all = hold_all
        self._provenance = provenance
        self._blank = blank or (lambda: 0)
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._closing = threading.Event()
        self._chunks = self._read()
        self._thread = None
        if threaded:
            self._thread = threading.Thread(target=self._run, name="import-reader", daemon=True)
            self._thread.start()

    def next_chunk(self) -> _Chunk:
        if self._thread is None:  # READER_THREAD off: read in the caller's thread, as before
            return next(self._chunks)
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        """Stop the reader thread (it may be waiting to hand over a chunk) and wait for it."""
        self._closing.set()
        if self._thread is None:
            self._chunks.close()
            self._close_rows()
            return
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self._thread.join()

    def _put(self, item) -> bool:
        while not self._closing.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                pass
        return False

    def _run(self) -> None:
        try:
            for chunk in self._chunks:
                if not self._put(chunk):
                    return
        except BaseException as exc:  # handed to the writer, which raises it in its thread
            self._put(exc)
        finally:
            self._chunks.close()
            self._close_rows()

    def _close_rows(self) -> None:
        close = getattr(self._rows, "close", None)
        if close is not None:
            close()  # a generator's cleanup (the CSV reader leaves the caller's stream open)

    def _read(self) -> Iterator[_Chunk]:
        lookups, clean_row, provenance = self._lookups, rules.clean_row, self._provenance
        seen: dict[tuple[str, str], int] = {}
        skip = self._skip
        chunk = _Chunk()
        closing = self._closing
        for row_no, raw in self._rows:
            if closing.is_set():
                return  # the writer failed or stopped early
            if skip:
                # Rows a kept report already counts: only the duplicate-in-file check needs them.
                skip -= 1
                if isinstance(raw, dict):
                    values, problems = clean_row(raw, lookups)
                    if not problems:
                        seen.setdefault((values["carrier"], values["tracking_number"]), row_no)
                continue
            if not chunk.rows:
                chunk.blank_at_first = self._blank()
            chunk.rows += 1
            if not isinstance(raw, dict):
                chunk.outcomes.append((row_no, _INVALID, None))
            else:
                values, problems = clean_row(raw, lookups)
                if problems:
                    chunk.outcomes.append((row_no, _INVALID, problems))
                else:
                    key = (values["carrier"], values["tracking_number"])
                    first = seen.get(key)
                    if first is not None:
                        chunk.outcomes.append((row_no, _DUPLICATE, {"carrier": key[0], "tracking_number": key[1],
                                                                    "first": first}))
                    else:
                        seen[key] = row_no
                        if provenance is not None:
                            values.update(provenance, import_row=row_no)
                        chunk.outcomes.append((row_no, _VALID, values))
            if chunk.rows >= self._chunk_rows:
                chunk.blank_at_end = self._blank()
                yield chunk
                chunk = _Chunk()
                if not self._hold_all:
                    seen.clear()
        chunk.blank_at_end = self._blank()
        if not chunk.rows:
            chunk.blank_at_first = chunk.blank_at_end
        chunk.last = True
        yield chunk


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


def _write_chunk(session, statement, chunk, organisation_id, providers, provider_of, report, columns, *,
                 batch_id: int | None = None, held: dict | None = None,
                 change_source: str = "import") -> None:
    """Write one chunk and count its rows. With `batch_id`, a row whose number this batch already
    registered (an earlier chunk) is a duplicate in the file; keys registered before this upload
    go into `held` (key → row), so that later chunks count their repeats as duplicates too."""
    now = utcnow()
    params = []
    for _, values in chunk:
        carrier, number = values["carrier"], values["tracking_number"]
        international = number[-2:] != "CN" and rules.is_s10_shaped(number)
        provider = provider_of.get((carrier, international))
        if provider is None:
            provider = provider_of[(carrier, international)] = choose_provider(carrier, number, providers)
        params.append(rules.new_shipment_columns(values, organisation_id, provider, now))
    existing = lacking_phone = None
    if session.get_bind().dialect.name == "postgresql":
        inserted, existing, lacking_phone = _insert_postgresql(session, params)
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
    if existing is None:
        existing = _existing(session, keys)
    if batch_id is not None:
        # Numbers an earlier chunk of this file registered: duplicates of that row.
        again = []
        for row_no, values in rest:
            key = (values["carrier"], values["tracking_number"])
            _, key_batch, first = existing.get(key, (None, None, None))
            if key_batch == batch_id and first is not None and first != row_no:
                report.duplicate_in_file += 1
                report.add_problem(row_no, "number", columns.get("number", "number"), "duplicate_in_file",
                                   {"first": first})
            else:
                again.append((row_no, values))
                if held is not None:
                    held.setdefault(key, row_no)
        rest = again
        keys = [(values["carrier"], values["tracking_number"]) for _, values in rest]
    owners = {key: org for key, (org, _, _) in existing.items()}
    # Our rows waiting for digits this upload now gives: add them (and poll them again).
    # (PostgreSQL: only rows the scratch-table join saw without digits: a plain re-upload asks nothing.)
    waiting = rules.waiting_for_phone(session, organisation_id, [
        key for (_, values), key in zip(rest, keys)
        if values.get("phone_last4") and (lacking_phone is None or key in lacking_phone)])
    for row_no, values in rest:
        key = (values["carrier"], values["tracking_number"])
        if key in waiting:
            history.record_changes(session, waiting[key].id, [("phone_last4", None, values["phone_last4"])],
                                   source=change_source, user_id=values.get("registered_by_user_id"),
                                   token_id=values.get("registered_by_token_id"), now=now)
            tracking.set_phone_last4(waiting[key], values["phone_last4"], now=now)
            report.updated += 1
        elif owners.get(key, organisation_id) == organisation_id:
            report.already_registered += 1
        else:
            report.registered_by_other_org += 1
            report.add_problem(row_no, "number", columns.get("number", "number"), "registered_by_other_org", {})


def _existing(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], tuple]:
    """(carrier, number) → (organisation, import batch, import row) of the registered ones among keys."""
    if not keys:
        return {}
    table = Shipment.__table__.c
    rows = session.execute(select(table.carrier, table.tracking_number, table.organisation_id, table.import_batch_id,
                                  table.import_row).where(tuple_(table.carrier, table.tracking_number).in_(keys)))
    return {(carrier, number): (org, batch_id, row) for carrier, number, org, batch_id, row in rows}


_COPY_COLUMNS = tuple(rules.new_shipment_columns(
    {"carrier": "", "tracking_number": ""}, 0, "", utcnow()))


def _insert_postgresql(session: Session, params: list[dict]) -> tuple[set, dict | None, set | None]:
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
    existing, lacking_phone = {}, set()
    if len(inserted) < len(params):
        # Rows already registered (a re-upload, a retry after a cut, a number repeated in the
        # file): owner, batch and row in one set-based join on the scratch table, through the
        # (carrier, tracking_number) index. A row-value IN list of 5,000 pairs cost ≈ 6 s a
        # chunk (issue 15: 2.3 s per 1,000 rows).
        found = connection.exec_driver_sql(
            "SELECT s.carrier, s.tracking_number, s.organisation_id, s.import_batch_id, s.import_row, "
            "s.phone_last4 IS NULL FROM shipment_import i "
            "JOIN shipments s ON s.carrier = i.carrier AND s.tracking_number = i.tracking_number").all()
        existing = {(carrier, number): (org, batch_id, row) for carrier, number, org, batch_id, row, _ in found}
        lacking_phone = {(carrier, number) for carrier, number, *_, lacking in found if lacking}
    connection.exec_driver_sql("TRUNCATE shipment_import")
    return {(carrier, number) for carrier, number in inserted}, existing, lacking_phone


def json_rows(items: list) -> Iterator[tuple[int, Any]]:
    """Number the items of a JSON array from 1."""
    if len(items) > MAX_JSON_ROWS:
        raise FileRejected("too_many_items", max=MAX_JSON_ROWS)
    return enumerate(items, start=1)


# ---------------------------------------------------------------- templates
EXAMPLE = {
    "number": "SBX0000000001", "carrier": "越乡模拟快递", "phone_last4": "5678", "program_id": "",
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
