"""How jobs run in a worker."""

from __future__ import annotations

from rq import SimpleWorker

from backend import queue
from backend.extensions import db, redis_client
from backend.leaderboard.jobs_rebuild import enqueue_rebuild


def test_a_job_run_by_a_worker_inside_an_app_context_has_a_session_of_its_own(live):
    """`flask fission worker` runs inside an app context (the flask CLI pushes one for
    every command). A job that ends without a commit, like a rebuild that only reads,
    must not leave its transaction behind in that context: on SQLite that is a write
    lock no other process gets past."""
    with live.app.app_context():
        enqueue_rebuild()
        names = [queue.queue_name(n) for n in queue.QUEUES]
        SimpleWorker(names, connection=redis_client()).work(burst=True)
        assert not db.session().in_transaction()
        db.session.remove()
