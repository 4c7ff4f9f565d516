"""Money paths lock rows in one order (payouts, then commissions by id, then wallets by
user id), so crossing work can wait on each other but never deadlock.

Before: a refund clawed back its level-1 earner's commission before its level-2
earner's, locking the level-1 wallet (a later user id) first, while a credit batch
locked the same two wallets in user order; PostgreSQL broke the cycle by killing one
of them (issue 19: a whole credit batch rolled back). The test makes that crossing
happen every time: the refund is held for a moment between its two clawbacks (a slow
network would do the same), and the credit batch starts exactly then."""

from __future__ import annotations

import threading
import time

import pytest
from helpers import admin, buy, chain, create_product, drain
from sqlalchemy import event

from backend.commission.models import Payout
from backend.extensions import db

ROUNDS, PENDING = 3, 12


@pytest.fixture
def row_locks(live):
    if live.app.config["FISSION"].database_url.startswith("sqlite"):
        pytest.skip("SQLite has no row locks: writers queue on the database lock")


class HoldBetweenClawbacks:
    """Pauses the refund as it posts its second clawback, after the first earner's
    wallet is written, and says when: the credit batch is started at that moment."""

    def __init__(self, live):
        self.seen = 0
        self.reached = threading.Event()
        with live.app.app_context():
            self.engine = db.engine

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._maybe_hold)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._maybe_hold)

    def _maybe_hold(self, conn, cursor, statement, parameters, context, executemany):
        if (not self.reached.is_set() and not executemany and statement.startswith("INSERT INTO ledger_entries")
                and "commission_reversed" in str(parameters)):
            self.seen += 1
            if self.seen == 2:
                self.reached.set()
                time.sleep(0.8)


def _credit_until_done(live, hold, errors) -> None:
    from backend.commission.credit import credit_batch

    with live.app.app_context():
        try:
            assert hold.reached.wait(30), "the refund never reached its second clawback"
            while credit_batch().credited:
                pass
        except Exception as exc:  # the test asserts there were none
            errors.append(exc)
        finally:
            db.session.remove()


def test_crossing_credit_batches_and_refunds_never_deadlock(live, ops, admin_token, row_locks):
    a, b, c = chain(live)  # b (level 1) joined after a (level 2): b's user id is the larger
    assert b.id > a.id
    operator = admin(live, admin_token)
    product = create_product(operator, price_fen=2_000, stock=10_000)
    for _ in range(ROUNDS):
        refunded = buy(live, c, product["id"])
        drain(live)  # credited: its refund claws back from both wallets, level 1 first
        for _ in range(PENDING):
            buy(live, c, product["id"])  # these wait for the credit batch below
        errors: list[Exception] = []
        with HoldBetweenClawbacks(live) as hold:
            credit = threading.Thread(target=_credit_until_done, args=(live, hold, errors))
            credit.start()
            answer = operator.post(f"/admin/orders/{refunded['id']}/refund", json={"reason": "crossing"})
            credit.join(120)
        assert errors == [], errors  # no batch was killed by a deadlock
        assert answer.status_code == 201, answer.text
        drain(live)

    with live.app.app_context():
        left = db.session.query(Payout).filter(Payout.user_id.in_([a.id, b.id]), Payout.status == "pending").count()
        db.session.remove()
    assert left == 0
    checks = [operator.get(f"/admin/users/{u.id}/wallet-check").json() for u in (a, b)]
    assert all(check["ok"] for check in checks), checks
    # 10 % and 5 % of 2,000 fen for every order kept; the refunded ones gave all of theirs back
    assert b.get("/me/wallet").json()["available_fen"] == 200 * ROUNDS * PENDING
    assert a.get("/me/wallet").json()["available_fen"] == 100 * ROUNDS * PENDING
