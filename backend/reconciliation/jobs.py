"""RQ jobs of statement runs: thin, each calls the service (``service``) with an id.

The ``@job`` wrapper makes each job one unit of work; the service commits a run step
by step inside it (``runs``), so a run that fails keeps what its finished steps made
and records why it failed. The jobs are enqueued by the service, by name, once the
transaction that decided them commits (``runs.enqueue_after_commit``)."""

from __future__ import annotations

import logging

from backend.errors import ApiError
from backend.queue import job
from backend.reconciliation import service

log = logging.getLogger(__name__)


@job
def generate_job(run_id: int) -> dict:
    try:
        return service.generate_run(run_id)
    except Exception as exc:
        service.record_run_failure(run_id, exc)
        raise


@job
def send_job(run_id: int) -> dict:
    try:
        return service.send_run(run_id)
    except ApiError as exc:
        if exc.code != "STATEMENT_STATE_CONFLICT":
            service.record_run_failure(run_id, exc)
            raise
        # a generation started again meanwhile: leave its state alone
        log.warning("statement run %s not sent: %s", run_id, exc.message)
        return {"state": service.get_run(run_id).state}
    except Exception as exc:
        service.record_run_failure(run_id, exc)
        raise
