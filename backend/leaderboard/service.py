"""What moves the boards, and reading them.

Events (each applied once per board, by its id):
* a commission reaches the wallet (``c:{commission}``): ``commission`` += what is
  left of it; for a level-1 commission also the order (``o:{order}``): ``gmv`` +=
  what is left of the paid amount, ``orders`` += 1 unless fully refunded,
  ``customers`` += 1 if it is the buyer's first paid order;
* a refund (``r:{refund}:…``) after that: the same amounts back out, on the boards
  of the period the commission or order was earned in; a refund that did not
  happen (``u:{refund}:…``) puts them back.
Everything is derived from rows in the database, so ``rebuild`` recomputes the
same boards from scratch (see rebuild.py).
"""

from __future__ import annotations

from sqlalchemy import bindparam, exists, func, select

from backend.auth.profiles import public_profiles
from backend.commission import ledger_keys
from backend.commission.ledger import user_account
from backend.commission.models import Commission, LedgerEntry
from backend.extensions import db
from backend.leaderboard.boards import Board, Event
from backend.orders.models import Order, Refund
from backend.timeutil import as_utc


def board(prefix: str, metric: str, kind: str, key: str) -> Board:
    return Board(prefix, metric, kind, key)


def _credit_statement():
    commissions, orders = Commission.__table__, Order.__table__
    earlier = orders.alias("earlier")
    first_paid = ~exists().where(earlier.c.user_id == orders.c.user_id, earlier.c.paid_at < orders.c.paid_at)
    return (select(commissions.c.id, commissions.c.user_id, commissions.c.level, commissions.c.amount_fen,
                   commissions.c.reversed_fen, commissions.c.created_at, orders.c.id.label("order_id"),
                   orders.c.paid_fen, orders.c.refunded_fen, orders.c.paid_at, first_paid.label("first_paid"))
            .join(orders, orders.c.id == commissions.c.order_id)
            .where(commissions.c.id.in_(bindparam("ids", expanding=True))))


# Built once: the credit job runs it for every batch.
_CREDIT_ROWS = _credit_statement()


def credit_events(commission_ids: list[int]) -> list[Event]:
    """Board updates for commissions that just reached their wallets, from one query."""
    if not commission_ids:
        return []
    events: list[Event] = []
    for row in db.session.execute(_CREDIT_ROWS, {"ids": list(commission_ids)}):
        left = row.amount_fen - row.reversed_fen
        if left > 0:
            events.append(Event("commission", row.user_id, left, f"c:{row.id}", row.created_at))
        if row.level != 1:
            continue
        gmv = row.paid_fen - row.refunded_fen
        if gmv > 0:
            events.append(Event("gmv", row.user_id, gmv, f"o:{row.order_id}", row.paid_at))
            events.append(Event("orders", row.user_id, 1, f"o:{row.order_id}", row.paid_at))
        if row.first_paid:  # the buyer's first paid order (ties: each of them)
            events.append(Event("customers", row.user_id, 1, f"o:{row.order_id}", row.paid_at))
    return events


def _released_before(commission_id: int, moment) -> bool:
    """Had the commission reached the boards (its release) before ``moment``? Only
    for a refund that moved none of the level-1 commission's money (see below)."""
    released_at = db.session.scalar(select(Commission.released_at).where(Commission.id == commission_id))
    return released_at is not None and as_utc(released_at) < as_utc(moment)


def refund_events(refund_id: int, order_id: int, amount_fen: int, undo: bool = False) -> list[Event]:
    """Board updates for a refund (or, with ``undo``, for a refund that failed).
    Only what already reached the boards is taken back.

    Whether a commission was on the boards is read off the refund's own ledger entry:
    it moved the commission's *available* money if the commission was released when
    the refund took its row lock, its *pending* money if not. The credit job reads its
    events under the same row locks, so exactly one of the two counts each amount,
    whatever order their commits and their jobs come in."""
    sign, tag = (1, "u") if undo else (-1, "r")
    order = db.session.get(Order, order_id)
    events: list[Event] = []
    kind = "commission_reinstated" if undo else "commission_reversed"
    wallet_side = LedgerEntry.credit_account if undo else LedgerEntry.debit_account
    entries = db.session.execute(
        select(LedgerEntry.commission_id, LedgerEntry.amount_fen, LedgerEntry.created_at, wallet_side,
               Commission.user_id, Commission.level, Commission.created_at)
        .join(Commission, Commission.id == LedgerEntry.commission_id)
        .where(ledger_keys.of_refund(LedgerEntry.idempotency_key, refund_id), LedgerEntry.kind == kind)).all()
    order_on_boards, moment, left_pending = None, None, []
    for commission_id, amount, posted_at, account, user_id, level, earned_at in entries:
        moment = posted_at
        on_boards = account == user_account(user_id, "available")
        if level == 1:
            order_on_boards = on_boards
        if on_boards:  # otherwise its credit counts what is left then
            events.append(Event("commission", user_id, sign * amount, f"{tag}:{refund_id}:c:{commission_id}",
                                earned_at))
        elif undo:
            left_pending.append(commission_id)
    if left_pending:
        events += _credits_since(left_pending)
    if order_on_boards is None:  # the refund moved none of the level-1 commission: go by the clock
        moment = moment or db.session.get(Refund, refund_id).created_at
        level1 = db.session.scalar(select(Commission.id).where(Commission.order_id == order_id,
                                                              Commission.level == 1))
        order_on_boards = level1 is not None and _released_before(level1, moment)
    if order_on_boards:  # the order itself is on the boards
        events.append(Event("gmv", order.level1_id, sign * amount_fen, f"{tag}:{refund_id}:gmv", order.paid_at))
        if _flips_fully_refunded(order, refund_id, undo):
            events.append(Event("orders", order.level1_id, sign, f"{tag}:{refund_id}:orders", order.paid_at))
    return events


def _credits_since(commission_ids: list[int]) -> list[Event]:
    """Credit events of commissions an undo gave back to ``pending`` that have been
    released since: by the undo itself when their payout had ended meanwhile (no credit
    job will come for them), or by a credit job. The commission counts what its
    release moved (what the credit job counted, read under the same lock); events
    apply once by id, so whichever of the two comes first is the one counted."""
    keys = [ledger_keys.release_key(cid) for cid in commission_ids]
    released = db.session.execute(
        select(Commission.id, Commission.user_id, Commission.created_at, LedgerEntry.amount_fen)
        .join(LedgerEntry, LedgerEntry.commission_id == Commission.id)
        .where(LedgerEntry.idempotency_key.in_(keys))).all()
    events = [Event("commission", user_id, amount, f"c:{cid}", earned_at)
              for cid, user_id, earned_at, amount in released if amount > 0]
    return events + [e for e in credit_events([row.id for row in released]) if e.metric != "commission"]


def _flips_fully_refunded(order: Order, refund_id: int, undo: bool) -> bool:
    """Did this refund take the order to fully refunded (or, undone, back out of it)?
    The refund records it under the order's lock; refunds made before it did so are
    judged by the refunds up to them."""
    refund = db.session.get(Refund, refund_id)
    recorded = refund.reopened_order if undo else refund.completed_order
    if recorded is not None:
        return recorded
    return _made_fully_refunded(order, refund)


def _made_fully_refunded(order: Order, refund: Refund) -> bool:
    """Did this refund take the order to fully refunded (counting refunds up to it)?"""
    upto = db.session.scalar(select(func.coalesce(func.sum(Refund.amount_fen), 0)).where(
        Refund.order_id == order.id, Refund.id <= refund.id, Refund.status != "failed"))
    if refund.status == "failed":  # an undo: count it as it was
        upto += refund.amount_fen
    return int(upto) == order.paid_fen


def hydrate(user_ids: list[int]) -> dict[int, dict]:
    """Users for a page of ranks: from the profile cache, the database only for misses."""
    return public_profiles(user_ids)
