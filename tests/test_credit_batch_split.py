"""A credit batch locks wallet-rail commissions and the one-by-one payouts apart.

Before: one run of ``limit`` pending payouts in id order. Behind a backlog of
transfer-rail payouts (credited one by one, a dozen per batch within its time budget)
every batch locked and loaded the same head of transfer-rail rows, and the wallet-rail
payouts behind them waited for all of it (bench/chaos.py: ~5 payouts/s after a fault)."""

from __future__ import annotations

from helpers import buy, chain, create_product, drain, set_settings

from backend.commission import credit
from backend.extensions import db
from backend.transactions import unit_of_work


def _pending(ops, user_id: int) -> int:
    r = ops.get("/admin/payouts", params={"status": "pending", "user_id": user_id})
    assert r.status_code == 200, r.text
    return r.json()["total"]


def test_wallet_rail_commissions_are_not_stuck_behind_transfer_rail_payouts(live, ops, monkeypatch):
    product = create_product(ops, price_fen=10_000)
    set_settings(ops, payout_rail="wechat_transfer")
    a, b, c = chain(live)
    for _ in range(3):  # six transfer-rail payouts, the lowest ids
        buy(live, c, product["id"])
    set_settings(ops, payout_rail="wallet")
    a2, b2, c2 = chain(live)
    buy(live, c2, product["id"])  # two wallet-rail payouts behind them
    assert (_pending(ops, b.id), _pending(ops, b2.id)) == (3, 1)

    monkeypatch.setattr(credit, "ONE_BY_ONE_LIMIT", 2)
    with live.app.app_context():
        with unit_of_work("test: one credit batch"):
            batch = credit.credit_pending(limit=2)
        db.session.remove()
    assert batch.more  # both runs were full
    # The wallet-rail commissions reached their wallets in this one batch ...
    assert (b2.get("/me/wallet").json()["available_fen"], a2.get("/me/wallet").json()["available_fen"]) == (1_000, 500)
    assert _pending(ops, b2.id) == _pending(ops, a2.id) == 0
    # ... and of the transfer-rail ones only ONE_BY_ONE_LIMIT were taken, the lowest ids.
    assert _pending(ops, b.id) + _pending(ops, a.id) == 6 - 2
    assert len(batch.to_transfer) == 2

    drain(live)  # the rest, and the transfers, as a worker would
    with live.app.app_context():
        while credit.credit_batch().credited:
            pass
        db.session.remove()
    drain(live)
    assert _pending(ops, b.id) == _pending(ops, a.id) == 0


def test_a_credit_loop_stopped_with_more_waiting_runs_again_before_queued_jobs(live, ops, monkeypatch):
    """The credit job goes to the front of the payouts queue: a loop that stops at its
    time limit with payouts left runs again before the transfer jobs queued meanwhile
    (the sweeper re-enqueues hundreds after a Redis loss)."""
    from backend import queue
    from backend.commission import jobs, outbox
    from backend.extensions import redis_client

    product = create_product(ops, price_fen=10_000)
    a, b, c = chain(live)
    buy(live, c, product["id"])
    with live.app.app_context():
        prefix = live.app.config["FISSION"].queue_prefix
        payouts_queue = queue.get_queue("payouts")
        payouts_queue.empty()  # the credit job the payment enqueued: this test runs the loop itself
        redis_client().delete(f"{prefix}:waiting:{outbox.CREDIT_JOB_ID}")
        payouts_queue.enqueue("backend.commission.jobs.send_earned_messages")  # work already waiting
        monkeypatch.setattr(jobs, "CREDIT_RUN_SECONDS", 0.0)  # stops after its first batch, "more" waiting
        assert jobs.credit_pending_payouts() == 2
        first, *rest = payouts_queue.get_jobs()
        assert first.func_name == outbox.CREDIT_JOB and len(rest) == 1
        db.session.remove()
    drain(live)
    assert (b.get("/me/wallet").json()["available_fen"], a.get("/me/wallet").json()["available_fen"]) == (1_000, 500)
