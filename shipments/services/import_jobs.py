"""Bulk imports that outlive their request.

A file upload is kept on disk and imported under an ImportJob row. The
request imports for up to IMPORT_SYNC_SECONDS (20 s: well inside the
worker timeout); what is left is finished in the background: by a thread of
the same process when IMPORT_BACKGROUND_THREAD is on (gunicorn), and in any
case by the worker's `finish_imports` job, which takes over imports whose
lease has run out (a dead process's, or a request's that handed over).
Each chunk's rows and the job's progress commit together (the caller's
`commit`, the import's named exception to "services never commit"), so a
cut connection loses at most the chunk in flight, and carrying on re-reads
the file from the first row not yet counted.
"""
from __future__ import annotations

import logging
import secrets
import time
from datetime import timedelta
from pathlib import Path
from typing import Callable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from shipments.db import utcnow
from shipments.models import ImportBatch, ImportJob
from shipments.services import imports

log = logging.getLogger(__name__)

LEASE_SECONDS = 120  # renewed with every chunk
KEEP_SECONDS = 24 * 3600  # kept files are deleted when done, or after a day


def folder(config, instance_path: str) -> Path:
    """Where kept upload files live."""
    path = Path(config.get("IMPORT_FOLDER") or Path(instance_path) / "imports")
    path.mkdir(parents=True, exist_ok=True)
    return path


def keep_file(stream, where: Path) -> str:
    """Copy an upload to disk in 1 MB blocks; its key."""
    key = secrets.token_urlsafe(18)
    with open(where / f"{key}.upload", "wb") as out:
        while block := stream.read(1 << 20):
            out.write(block)
    _sweep(where)
    return key


def start_job(session: Session, organisation_id: int, file_key: str, options: dict, rows_total: int) -> ImportJob:
    """A job for a kept file, leased to the caller (who imports the first part)."""
    job = ImportJob(organisation_id=organisation_id, status="running", file_key=file_key, options=options,
                    rows_total=rows_total, report={}, lease_until=utcnow() + timedelta(seconds=LEASE_SECONDS))
    session.add(job)
    session.flush()
    return job


def run_job(session: Session, job: ImportJob, where: Path, *, providers: dict, commit: Callable[[], None],
            deadline: float | None = None, chunk_rows: int = imports.CHUNK_ROWS) -> imports.ImportReport:
    """Import a job's file from where it got to, until done or `deadline` (monotonic) passes.

    Unreadable files mark the job failed (FileRejected propagates for the caller's answer).
    """
    options = job.options or {}
    path = where / f"{job.file_key}.upload"
    try:
        stream = open(path, "rb")
    except OSError:
        _finish(job, "failed", error="the kept file is gone")
        commit()
        raise
    with stream:
        try:
            table = imports.open_table(stream)
        except imports.FileRejected as exc:
            _finish(job, "failed", error=exc.code)
            commit()
            path.unlink(missing_ok=True)
            raise
        if not job.rows_total:
            job.rows_total = table.estimated_rows
        resume = imports.ImportReport.from_state(job.report) if job.report else None
        # The upload's import batch (provenance of every row), made once the file reads.
        batch = session.get(ImportBatch, options["batch_id"]) if options.get("batch_id") else None
        if batch is None:
            batch = imports.start_batch(session, job.organisation_id, options.get("file_name"),
                                        user_id=options.get("user_id"), token_id=options.get("token_id"))
            job.options = options = {**options, "batch_id": batch.id}
        rows = table.rows
        label = options.get("batch_label")
        if label:  # the page's batch field fills rows without a batch of their own
            rows = ((n, {**row, "batch_label": row.get("batch_label") or label}) for n, row in rows)

        pace = {"last": time.monotonic(), "chunk": 0.0}

        def on_chunk(report: imports.ImportReport) -> None:
            now = time.monotonic()
            pace["chunk"], pace["last"] = now - pace["last"], now
            job.rows_done = report.rows
            job.report = report.state()
            job.updated_at = utcnow()
            job.lease_until = utcnow() + timedelta(seconds=LEASE_SECONDS)

        report = imports.import_rows(
            session, rows, job.organisation_id, providers=providers, commit=commit,
            any_program=bool(options.get("any_program")), program_id=options.get("program_id"),
            columns=table.columns, blank=lambda: table.blank, chunk_rows=chunk_rows, resume=resume,
            on_chunk=on_chunk, batch=batch,
            # Stop before a chunk that would end past the deadline (chunks take about as long as the last).
            stop=(lambda: time.monotonic() + pace["chunk"] >= deadline) if deadline is not None else None)
    if report.finished:
        _finish(job, "done")
        job.report = report.state()
        job.rows_done = report.rows
        commit()
        path.unlink(missing_ok=True)
    else:
        job.lease_until = utcnow()  # hand over: the background takes it from here
        commit()
    return report


def _finish(job: ImportJob, status: str, error: str | None = None) -> None:
    job.status = status
    job.error = error
    job.lease_until = None
    job.finished_at = job.updated_at = utcnow()


def claim_next(session: Session, owner_seconds: int = LEASE_SECONDS) -> ImportJob | None:
    """The oldest running import nobody holds, leased to the caller (SKIP LOCKED on PostgreSQL)."""
    now = utcnow()
    job = session.scalar(select(ImportJob).where(
        ImportJob.status == "running", or_(ImportJob.lease_until.is_(None), ImportJob.lease_until <= now))
        .order_by(ImportJob.id).limit(1).with_for_update(skip_locked=True))
    if job is not None:
        job.lease_until = now + timedelta(seconds=owner_seconds)
    return job


def finish_pending(session: Session, where: Path, providers: dict, *, chunk_rows: int = imports.CHUNK_ROWS,
                   stop: Callable[[], bool] = lambda: False) -> int:
    """Carry on every import nobody holds (the worker's job); how many were finished or failed."""
    count = 0
    while not stop():
        job = claim_next(session)
        session.commit()
        if job is None:
            return count
        try:
            run_job(session, job, where, providers=providers, commit=session.commit, chunk_rows=chunk_rows)
        except (imports.FileRejected, OSError):
            log.warning("import %s failed: its file cannot be read", job.id)
        count += 1
    return count


def job_state(job: ImportJob, lang: str = "zh") -> dict:
    """What GET /api/v1/imports/{id} answers: status, progress, and the report (so far)."""
    report = imports.ImportReport.from_state(job.report)
    total = max(job.rows_total or 0, job.rows_done or 0)
    return {"id": job.id, "status": job.status,
            "progress": {"rows_done": job.rows_done or 0, "rows_total": total,
                         "percent": 100 if job.status == "done" else (int(100 * (job.rows_done or 0) / total)
                                                                      if total else 0)},
            "report": report.as_dict(lang), "error": job.error}


def _sweep(where: Path) -> None:
    limit = time.time() - KEEP_SECONDS
    for path in where.glob("*.upload"):
        if path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)
