"""The credit batch: many pending payouts credited in ONE transaction.

``credit_batch`` is one step of the credit loop (``jobs.credit_pending_payouts``)
and its own unit of work: it locks pending payouts (SKIP LOCKED, so several
workers share the work), releases their commissions to the wallets and routes
them, tells ``outbox.commissions_released`` (the boards read their events then,
under the batch's row locks), and commits. What follows the commit — one transfer
job per payout now ``submitting``, the board updates, the "you earned" messages —
is registered with ``after_commit``, so nothing of it happens for a batch that
rolled back.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select, update

from backend.commission import ledger, outbox
from backend.commission import service as commission_service
from backend.commission.models import Commission, Payout
from backend.commission.routing import TRANSFER_RAILS, backoff, credit_and_route
from backend.errors import ApiError
from backend.extensions import db
from backend.metrics import events as metrics
from backend.timeutil import as_utc, utcnow
from backend.transactions import after_commit, unit_of_work

# How long one batch may spend on the payouts it credits one by one (transfer rails,
# holds, clawed-back commissions) before it commits what it has.
ONE_BY_ONE_BUDGET_SECONDS = 0.2
# How many of those one batch locks at most. They are locked apart from the wallet-rail
# ones: locked in one run of 500 by id, a backlog of transfer-rail payouts (a dozen
# credited per batch within the budget) was locked, loaded and its wallets locked 500 at
# a time by every batch, and the wallet-rail payouts behind it waited for all of it
# (bench/chaos.py: ~5 payouts/s credited after a fault instead of hundreds).
ONE_BY_ONE_LIMIT = 50


@dataclass
class CreditBatch:
    credited: list[int]  # payouts whose commission reached the wallet now (for the message)
    to_transfer: list[int]  # payouts now ``submitting``: one job each, they call WeChat
    more: bool  # the batch was full: run again
    released: list[int] = field(default_factory=list)  # commissions released now (for the boards)
    available_since: list = field(default_factory=list)  # released ones' available_at (credit lag, /metrics)


def credit_batch() -> CreditBatch:
    """One batch, committed: the step of the credit loop."""
    with unit_of_work("credit batch"):
        batch = credit_pending()
        outbox.enqueue_transfers_after_commit(batch.to_transfer)
        # Under the batch's row locks: each commission counts on the boards as it was
        # when released. A refund after this commit finds it released and takes its
        # own share off the boards (leaderboard.service).
        if batch.released:
            outbox.commissions_released.send(None, commission_ids=batch.released)
        if batch.credited:
            after_commit(outbox.enqueue_messages, batch.credited)
        if batch.available_since:
            after_commit(metrics.credit_lags, batch.available_since)
    return batch


def credit_pending(limit: int = 500) -> CreditBatch:
    """The instant part for many payouts in one transaction: lock pending payouts,
    release their commissions to the wallets and route them. Flushes; the caller
    (``credit_batch``) commits, once for the batch.

    The common case is set-based Core SQL on plain rows; only the others (transfer
    rails, holds, clawed-back commissions) go through the ORM one by one."""
    now = utcnow()
    # Payouts first, in two runs each in id order (SKIP LOCKED: no run waits on a row).
    bulk_rows = db.session.execute(_lock_pending(limit, True), {"now": now}).all()
    one_by_one_rows = db.session.execute(_lock_pending(ONE_BY_ONE_LIMIT, False), {"now": now}).all()
    rows = bulk_rows + one_by_one_rows
    commission_ids = [p.commission_id for p in rows if p.commission_id]
    commissions = {c.id: c for c in db.session.execute(_LOCK_COMMISSIONS, {"ids": commission_ids})} \
        if commission_ids else {}
    # Every wallet the batch may touch, up front and in user order: the bulk part and the
    # one-by-one part below would otherwise lock them in two runs, which a refund
    # locking the same wallets in user order could cross (a deadlock).
    ledger.lock_wallets({p.user_id for p in rows})
    batch = CreditBatch([], [], len(bulk_rows) == limit or len(one_by_one_rows) == ONE_BY_ONE_LIMIT)
    simple = [p for p in rows if _is_simple_credit(p, commissions.get(p.commission_id), now)]
    _credit_in_bulk(simple, commissions, now)
    batch.credited.extend(p.id for p in simple)
    batch.released.extend(p.commission_id for p in simple)
    batch.available_since.extend(commissions[p.commission_id].available_at for p in simple)
    simple_ids = {p.id for p in simple}
    others = [p for p in rows if p.id not in simple_ids]
    # As ORM objects, both read in one query each (the rows are locked already).
    other_payouts = db.session.scalars(
        select(Payout).where(Payout.id.in_([p.id for p in others])).order_by(Payout.id)).all() if others else []
    other_ids = [p.commission_id for p in others if p.commission_id]
    other_commissions = {c.id: c for c in db.session.scalars(
        select(Commission).where(Commission.id.in_(other_ids)))} if other_ids else {}
    # The one-by-one part is bounded by time, not only by count: the batch holds the
    # locks of every wallet it touches until it commits, and a notify for one of those
    # users waits that long. What is left stays pending for the next batch.
    budget_ends = time.monotonic() + ONE_BY_ONE_BUDGET_SECONDS
    for payout in other_payouts:
        if time.monotonic() >= budget_ends:
            batch.more = True
            break
        commission = other_commissions.get(payout.commission_id)
        was_pending = commission is not None and commission.status == "pending"
        try:
            with db.session.begin_nested():  # one payout's trouble never spoils the batch
                credit_and_route(payout, commission)
        except ApiError as exc:
            payout.tries += 1
            payout.next_attempt_at = utcnow() + backoff(payout.tries)
            payout.last_error = exc.message
            continue
        if payout.status != "pending":
            batch.credited.append(payout.id)
        if was_pending and commission.status == "available":
            batch.released.append(commission.id)
            batch.available_since.append(commission.available_at)
        if payout.status == "submitting":
            batch.to_transfer.append(payout.id)
    db.session.flush()
    return batch


_PAYOUTS, _COMMISSIONS = Payout.__table__, Commission.__table__


@functools.cache
def _lock_pending(limit: int, wallet_rail: bool):
    """Pending payouts due now: commissions on the wallet rail (mostly credited in bulk),
    or the others (transfer rails, other kinds: one by one)."""
    bulk_kind = (_PAYOUTS.c.kind == "commission") & _PAYOUTS.c.rail.notin_(TRANSFER_RAILS)
    return (select(_PAYOUTS.c.id, _PAYOUTS.c.kind, _PAYOUTS.c.rail, _PAYOUTS.c.commission_id, _PAYOUTS.c.user_id)
            .where(_PAYOUTS.c.status == "pending", _PAYOUTS.c.next_attempt_at <= bindparam("now"),
                   bulk_kind if wallet_rail else ~bulk_kind)
            .order_by(_PAYOUTS.c.id).limit(limit).with_for_update(skip_locked=True))


_LOCK_COMMISSIONS = (
    select(_COMMISSIONS.c.id, _COMMISSIONS.c.user_id, _COMMISSIONS.c.order_id, _COMMISSIONS.c.status,
           _COMMISSIONS.c.available_at, _COMMISSIONS.c.amount_fen, _COMMISSIONS.c.reversed_fen)
    .where(_COMMISSIONS.c.id.in_(bindparam("ids", expanding=True))).order_by(_COMMISSIONS.c.id).with_for_update())
_RELEASE_COMMISSIONS = (
    update(_COMMISSIONS).where(_COMMISSIONS.c.id.in_(bindparam("ids", expanding=True)))
    .values(status="available", released_at=bindparam("now")))
# What is left of the commission leaves; a clawback may have taken some before.
_PAYOUTS_IN_WALLET = (
    update(_PAYOUTS).where(_PAYOUTS.c.id.in_(bindparam("ids", expanding=True)))
    .values(status="in_wallet", finished_at=bindparam("now"), amount_fen=(
        select(_COMMISSIONS.c.amount_fen - _COMMISSIONS.c.reversed_fen)
        .where(_COMMISSIONS.c.id == _PAYOUTS.c.commission_id).scalar_subquery())))


def _is_simple_credit(payout, commission, now) -> bool:
    """The common case, done set-based: a commission on the wallet rail whose hold is over."""
    return (payout.kind == "commission" and payout.rail not in TRANSFER_RAILS and commission is not None
            and commission.status == "pending" and as_utc(commission.available_at) <= now
            and commission.amount_fen > commission.reversed_fen)


def _credit_in_bulk(payouts: list, commissions: dict, now) -> None:
    """Release many commissions to their wallets: one INSERT of ledger entries, one
    batched UPDATE of the wallets, one UPDATE each of the commissions and payouts.
    Same postings and keys as ``commission_service.release``; the rows are locked
    and were seen pending."""
    if not payouts:
        return
    ledger.post_guarded([commission_service.release_movement(commissions[p.commission_id]) for p in payouts])
    db.session.execute(_RELEASE_COMMISSIONS, {"ids": [p.commission_id for p in payouts], "now": now})
    db.session.execute(_PAYOUTS_IN_WALLET, {"ids": [p.id for p in payouts], "now": now})
