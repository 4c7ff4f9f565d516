"""How jobs run in a worker."""

from __future__ import annotations

from helpers import buy, chain, create_product, drain
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
    from backend.commission import jobs, outbox

    a, b, c = chain(live)
    product = create_product(ops, price_fen=10_000)
    with live.app.app_context():
        held = redis_client().lock(outbox.credit_lock_key(), timeout=60)
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


@queue.job
def ask_for_another_run(counter_key: str) -> int:
    """A job that, while it runs, asks for one more run of its own work, as the credit
    loop does when it stops at its time limit with more waiting."""
    runs = redis_client().incr(counter_key)
    if runs == 1:
        queue.enqueue_once(ask_for_another_run, counter_key, job_id="ask-for-another-run")
    return runs


def test_work_asked_for_while_its_job_runs_is_not_lost(live):
    """RQ deletes a finished job's data by its id: a second job under the same id,
    enqueued while the first ran, used to vanish with it (and the first failed)."""
    with live.app.app_context():
        counter = f"{live.app.config['FISSION'].queue_prefix}:test:runs"
        default = queue.get_queue("default")
        waiting, failed = default.count, default.failed_job_registry.count
        assert queue.enqueue_once(ask_for_another_run, counter, job_id="ask-for-another-run")
        assert queue.enqueue_once(ask_for_another_run, counter, job_id="ask-for-another-run")
        assert default.count == waiting + 1  # the duplicate collapsed while the first waits
    drain(live)
    with live.app.app_context():
        assert int(redis_client().get(counter)) == 2
        assert default.failed_job_registry.count == failed
