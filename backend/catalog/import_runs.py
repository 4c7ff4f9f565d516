"""A catalog import from upload to report: the file is stored with its row, the RQ job
(``jobs.import_job``) or the CLI reads it and writes it chunk by chunk, each chunk a unit
of work of its own (like the statement runs, ``reconciliation.runs``): the progress the
API shows is what has been committed, and an import that dies half-way is finished by
importing the file again (an upsert: rows already written change nothing).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable

from backend.apidoc import get_or_404
from backend.catalog import importer, upsert
from backend.catalog.models import CatalogImport
from backend.errors import ApiError
from backend.extensions import db
from backend.queue import get_queue, queue_name
from backend.reconciliation.imports import safe_source
from backend.timeutil import utcnow
from backend.transactions import after_commit, unit_of_work

log = logging.getLogger(__name__)
CHUNK_ROWS = 5000
JOB = "backend.catalog.jobs.import_job"
Progress = Callable[[int], None] | None


def create_import(filename: str, data: bytes, admin_id: int | None) -> CatalogImport:
    """The upload's row (state queued); its job is enqueued once this commits."""
    row = CatalogImport(filename=safe_source(filename or "catalog")[:200], data=data, state="queued",
                        progress_done=0, progress_total=0, report="{}", error="", admin_id=admin_id)
    db.session.add(row)
    db.session.flush()
    job_id = f"{queue_name('catalog')}-import-{row.id}-{secrets.token_hex(6)}"
    after_commit(_enqueue, row.id, job_id)
    return row


def _enqueue(import_id: int, job_id: str) -> None:
    get_queue("default").enqueue(JOB, import_id, job_id=job_id, job_timeout=3600, result_ttl=86400,
                                 failure_ttl=86400)


def get_import(import_id: int) -> CatalogImport:
    return get_or_404(CatalogImport, import_id)


def view(row: CatalogImport) -> dict:
    return {"id": row.id, "filename": row.filename, "state": row.state, "progress_done": row.progress_done,
            "progress_total": row.progress_total, "report": json.loads(row.report or "{}"),
            "error": row.error, "created_at": row.created_at, "done_at": row.done_at}


def import_file(filename: str, data: bytes, progress: Progress = None, on_total: Progress = None) -> dict:
    """Read and write a whole file, chunk by chunk (each chunk committed): the report with
    the rows ``created``, ``updated`` and ``unchanged``. ApiError for an unreadable file."""
    rows, report = importer.read_catalog(filename, data)
    if on_total:
        on_total(len(rows))
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for start in range(0, len(rows), CHUNK_ROWS):
        chunk = rows[start:start + CHUNK_ROWS]
        with unit_of_work("catalog import: chunk"):
            written = upsert.write_rows(chunk)
            for key, value in written.items():
                counts[key] += value
            if written["created"]:
                upsert.analyze()
        if progress:
            progress(len(chunk))
    return {**report.to_dict(), **counts}


def run_import(import_id: int, progress: Progress = None) -> dict:
    """The job's work: the stored file imported, its progress and report on its row."""
    with unit_of_work("catalog import: start"):
        row = get_import(import_id)
        if row.state == "done":
            return view(row)
        row.state, row.progress_done, row.error = "running", 0, ""
        filename, data = row.filename, row.data or b""

    def set_total(total: int) -> None:
        with unit_of_work("catalog import: total"):
            get_import(import_id).progress_total = total

    def step(count: int) -> None:
        with unit_of_work("catalog import: progress"):
            get_import(import_id).progress_done += count
        if progress:
            progress(count)

    try:
        result = import_file(filename, data, step, set_total)
    except ApiError as exc:
        _finish(import_id, "failed", error=f"{exc.code}: {exc.message}"[:500])
        return view(get_import(import_id))
    _finish(import_id, "done", report=result)
    return view(get_import(import_id))


def _finish(import_id: int, state: str, report: dict | None = None, error: str = "") -> None:
    with unit_of_work("catalog import: finish"):
        row = get_import(import_id)
        row.state, row.error, row.done_at = state, error, utcnow()
        if report is not None:
            row.report = json.dumps(report, ensure_ascii=False)
        row.data = None  # the file is not kept once read


def record_failure(import_id: int, exc: Exception) -> None:
    log.exception("catalog import %s failed", import_id)
    _finish(import_id, "failed", error=f"{type(exc).__name__}: {exc}"[:500])
