"""RQ job of the catalog import: thin, it calls ``import_runs`` with the import's id.

The import commits chunk by chunk inside the job (``import_runs``); a job that fails
records why on the import's row."""

from __future__ import annotations

from backend.catalog import import_runs
from backend.queue import job


@job
def import_job(import_id: int) -> dict:
    try:
        return import_runs.run_import(import_id)
    except Exception as exc:
        import_runs.record_failure(import_id, exc)
        raise
