"""Uploaded spreadsheets kept between preview and confirmation, with their reports."""
import csv
import io
import json
import secrets
import shutil
import time
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from shipments import labels
from shipments.services import imports, shipments as shipment_service
from shipments.services.exports import inert

KEEP_SECONDS = 24 * 3600
SUMMARY = _l("%(rows)s rows read, %(blank)s blank rows passed over; %(problems)s rows with errors below")
_TOKEN_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def _folder() -> Path:
    folder = Path(current_app.config.get("UPLOAD_FOLDER") or Path(current_app.instance_path) / "uploads")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _paths(token: str) -> tuple[Path, Path] | None:
    if not token or len(token) > 64 or not set(token) <= _TOKEN_CHARS:
        return None
    folder = _folder()
    return folder / f"{token}.upload", folder / f"{token}.json"


def save(stream, meta: dict) -> str:
    """Keep an upload (copied from a binary stream) and its metadata; return its unguessable token."""
    _sweep()
    token = secrets.token_urlsafe(24)
    upload, info = _paths(token)
    with open(upload, "wb") as out:
        shutil.copyfileobj(stream, out, 1 << 20)
    info.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return token


def discard(token: str) -> None:
    """Delete an upload and its metadata (its preview failed: nothing to confirm)."""
    paths = _paths(token)
    for path in paths or ():
        path.unlink(missing_ok=True)


def load(token: str, organisation_id: int) -> tuple[Path, dict] | None:
    """The upload's file and metadata, only for the organisation that sent it."""
    paths = _paths(token)
    if paths is None or not paths[1].exists():
        return None
    meta = json.loads(paths[1].read_text(encoding="utf-8"))
    if meta.get("organisation_id") != organisation_id:
        return None
    return paths[0], meta


def update(token: str, meta: dict) -> None:
    """Rewrite an upload's metadata (after the import ran)."""
    _paths(token)[1].write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


def report_meta(report) -> dict:
    """A report as stored with the upload (problems keep their codes, not one language)."""
    return {
        "rows": report.rows, "created": report.created, "needs_phone": report.needs_phone,
        "updated": report.updated, "duplicate_in_file": report.duplicate_in_file,
        "already_registered": report.already_registered, "registered_by_other_org": report.registered_by_other_org,
        "invalid": report.invalid, "blank": report.blank, "problems_truncated": report.problems_truncated,
        "problems": [list(p) for p in report.problems],
    }


def problem_rows(stored: dict, lang: str) -> list[dict]:
    """The stored problems with messages in a language, in row order."""
    return sorted(({"row": row, "field": key, "column": column,
                    "message": shipment_service.message(code, lang, **params)}
                   for row, key, column, code, params in stored["problems"]), key=lambda p: p["row"])


def errors_csv(stored: dict, lang: str, headers: list[str], upload: Path | None = None) -> bytes:
    """The rows with problems, sorted by row, with their original values and what is wrong, ready to fix
    and upload again (UTF-8 with BOM so Excel opens it). headers: row, column, problem."""
    problems: dict[int, list[dict]] = {}
    for problem in problem_rows(stored, lang):
        problems.setdefault(problem["row"], []).append(problem)
    columns, originals = {}, {}
    if upload is not None and upload.exists():
        with open(upload, "rb") as stream:
            table = imports.open_table(stream)
            columns = table.columns
            for row_no, values in table.rows:
                if row_no in problems:
                    originals[row_no] = values
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    row_word, column_word, problem_word = headers
    # A title line above the header: the reader skips it when the fixed file comes back.
    writer.writerow([labels.text(SUMMARY, lang, rows=stored["rows"], blank=stored.get("blank", 0),
                                 problems=len(problems))])
    writer.writerow([row_word, *columns.values(), column_word, problem_word])
    for row_no in sorted(problems):
        found = problems[row_no]
        values = originals.get(row_no, {})
        writer.writerow([inert(v) for v in (
            row_no, *(values.get(key, "") for key in columns),
            labels.join(dict.fromkeys(p["column"] or p["field"] for p in found), lang),
            labels.join((p["message"] for p in found), lang, clauses=True))])
    return "\ufeff".encode("utf-8") + out.getvalue().encode("utf-8")


def _sweep() -> None:
    # Uploads hold order data: keep them a day at most.
    limit = time.time() - KEEP_SECONDS
    for path in _folder().glob("*"):
        if path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)
