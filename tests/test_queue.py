"""How jobs run in a worker."""

from __future__ import annotations

from helpers import buy, chain, create_product
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


def test_one_credit_loop_at_a_time_and_nothing_left_behind(live, ops):
    """While a credit loop runs (it holds `{prefix}:credit-loop`), a paid order enqueues
    no second credit job and a second one that starts anyway leaves at once: two loops
    would halve each other's batches. Once the loop is gone, the payouts are credited."""
    from backend.commission import jobs

    a, b, c = chain(live)
    product = create_product(ops, price_fen=10_000)
    with live.app.app_context():
        held = redis_client().lock(jobs._credit_lock_key(), timeout=60)
        assert held.acquire(blocking=False)
        credit_queue = queue.get_queue("payouts")
        before = credit_queue.count
    try:
        buy(live, c, product["id"])
        with live.app.app_context():
            assert credit_queue.count == before  # the running loop will look again after this commit
            assert jobs.credit_pending_payouts() == 0  # a second loop leaves at once
        assert b.get("/me/wallet").json()["pending_fen"] == 1_000
    finally:
        with live.app.app_context():
            held.release()
    with live.app.app_context():
        assert jobs.credit_pending_payouts() == 2
        db.session.remove()
    assert (b.get("/me/wallet").json()["available_fen"], a.get("/me/wallet").json()["available_fen"]) == (1_000, 500)
