"""Posting to the ledger, and the wallet balances that move with it.

``post`` and ``post_guarded`` are the only ways money moves. ``post`` works in a
savepoint: it inserts the entry (its idempotency key is unique in the database, so
a replay inserts nothing) and applies the same movement to the wallet row with a
conditional UPDATE whose row count is checked. ``post_guarded`` does the same
set-based, for callers whose row lock already rules out a replay. Services call
them and flush; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.util import identity_key

from backend.commission.models import LedgerEntry, Wallet
from backend.errors import ApiError
from backend.extensions import db
from backend.timeutil import utcnow

# wallet column per user account; the shop's accounts have no wallet row
USER_ACCOUNTS = {
    "pending": Wallet.pending_fen,
    "available": Wallet.available_fen,
    "in_transit": Wallet.in_transit_fen,
    "paid_out": Wallet.paid_out_fen,
}
# Where commission comes from. What leaves for WeChat ends in ``user:{id}:paid_out``.
SHOP_COMMISSION_EXPENSE = "shop:commission_expense"


def user_account(user_id: int, name: str) -> str:
    assert name in USER_ACCOUNTS
    return f"user:{user_id}:{name}"


@dataclass(frozen=True)
class Movement:
    key: str
    kind: str
    user_id: int
    debit: str  # account the money leaves
    credit: str  # account the money enters
    amount_fen: int
    order_id: int | None = None
    commission_id: int | None = None
    payout_id: int | None = None
    memo: str = ""
    # Refuse the movement if it would take ``available`` below zero (withdrawals,
    # transfers). Clawbacks pass False: a balance may go negative after a refund.
    require_funds: bool = False
    earned_delta: int = 0  # change to total_earned_fen


def ensure_wallet(user_id: int) -> None:
    """Create the wallet row if it is missing (a race with another creator is fine)."""
    try:
        with db.session.begin_nested():
            db.session.execute(Wallet.__table__.insert().values(user_id=user_id))
    except IntegrityError:
        pass


def _column_for(account: str, user_id: int):
    parts = account.split(":")
    if parts[0] != "user":
        return None
    if int(parts[1]) != user_id:
        raise ValueError(f"account {account} does not belong to user {user_id}")
    return USER_ACCOUNTS[parts[2]]


def _apply_to_wallet(movement: Movement) -> None:
    debit_col = _column_for(movement.debit, movement.user_id)
    credit_col = _column_for(movement.credit, movement.user_id)
    amount = movement.amount_fen
    values = {}
    if debit_col is not None:
        values[debit_col.key] = debit_col - amount
    if credit_col is not None:
        values[credit_col.key] = credit_col + amount
    if movement.earned_delta:
        values["total_earned_fen"] = Wallet.total_earned_fen + movement.earned_delta
    if not values:
        return
    stmt = update(Wallet).where(Wallet.user_id == movement.user_id).values(**values)
    if movement.require_funds and debit_col is Wallet.available_fen:
        stmt = stmt.where(Wallet.available_fen >= amount)
    stmt = stmt.execution_options(synchronize_session=False)
    if db.session.execute(stmt).rowcount == 1:
        return
    if db.session.get(Wallet, movement.user_id, populate_existing=True) is None:
        ensure_wallet(movement.user_id)  # first money ever for this user
        if db.session.execute(stmt).rowcount == 1:
            return
    raise ApiError("INSUFFICIENT_BALANCE", "The available balance is too low")


def _entry(movement: Movement) -> LedgerEntry:
    return LedgerEntry(
        idempotency_key=movement.key, kind=movement.kind, user_id=movement.user_id,
        debit_account=movement.debit, credit_account=movement.credit, amount_fen=movement.amount_fen,
        order_id=movement.order_id, commission_id=movement.commission_id, payout_id=movement.payout_id,
        memo=movement.memo,
    )


def post(movement: Movement) -> bool:
    """Record a movement once. True if posted now, False if it already was.

    In a savepoint: a replay hits the unique key, the savepoint rolls back and the
    transaction goes on. Use ``post_guarded`` where a row lock already makes a
    replay impossible and the savepoint's round trips matter."""
    if movement.amount_fen <= 0:
        raise ValueError("a movement moves a positive amount")
    try:
        with db.session.begin_nested():
            db.session.add(_entry(movement))
            db.session.flush()
            _apply_to_wallet(movement)
    except IntegrityError:
        # The key exists: this movement was posted before. Nothing changes.
        if not is_posted(movement.key):
            raise
        return False
    _expire_wallet(movement.user_id)
    return True


def lock_wallets(user_ids) -> None:
    """Lock these users' wallets (those that exist) in user order, the order
    ``post_guarded`` takes them in, before posting to them one by one."""
    if user_ids:
        db.session.execute(select(Wallet.user_id).where(Wallet.user_id.in_(sorted(user_ids)))
                           .order_by(Wallet.user_id).with_for_update())


def post_guarded(movements: list[Movement]) -> None:
    """Post movements the caller already guards with a row lock and a state check
    (e.g. the locked order moving from pending_payment to paid). Set-based: one
    INSERT for the entries and one batched UPDATE of the wallets, however many
    movements. No savepoint: if a unique key ever fires anyway, the whole
    transaction fails, which is right."""
    if not movements:
        return
    for movement in movements:
        if movement.amount_fen <= 0 or movement.require_funds:
            raise ValueError("guarded posts move positive amounts and never check funds")
    db.session.execute(_INSERT_ENTRIES, [_entry_row(m) for m in movements])
    deltas: dict[int, dict[str, int]] = {}
    for movement in movements:
        wallet = deltas.setdefault(movement.user_id, dict.fromkeys(_DELTA_COLUMNS, 0))
        for account, sign in ((movement.debit, -1), (movement.credit, 1)):
            column = _column_for(account, movement.user_id)
            if column is not None:
                wallet[column.key] += sign * movement.amount_fen
        wallet["total_earned_fen"] += movement.earned_delta
    # In user order: concurrent postings lock the wallet rows in one order and never deadlock on them.
    params = [{"uid": uid, **{f"d_{k}": v for k, v in deltas[uid].items()}} for uid in sorted(deltas)]
    result = db.session.execute(_APPLY_DELTAS, params)
    if not db.session.get_bind().dialect.supports_sane_multi_rowcount or result.rowcount != len(params):
        _apply_missing_wallets(params)
    for uid in deltas:
        _expire_wallet(uid)


_DELTA_COLUMNS = ("pending_fen", "available_fen", "in_transit_fen", "paid_out_fen", "total_earned_fen")
_APPLY_DELTAS = update(Wallet.__table__).where(Wallet.__table__.c.user_id == bindparam("uid")).values(
    **{k: Wallet.__table__.c[k] + bindparam(f"d_{k}") for k in _DELTA_COLUMNS})
_INSERT_ENTRIES = insert(LedgerEntry.__table__)


def _apply_missing_wallets(params: list[dict]) -> None:
    """Users who had no wallet yet got no UPDATE: create theirs and apply it."""
    existing = set(db.session.scalars(select(Wallet.user_id).where(Wallet.user_id.in_([p["uid"] for p in params]))))
    missing = [p for p in params if p["uid"] not in existing]
    for param in missing:
        ensure_wallet(param["uid"])
    if missing:
        db.session.execute(_APPLY_DELTAS, missing)


def _entry_row(movement: Movement) -> dict:
    return {
        "idempotency_key": movement.key, "kind": movement.kind, "user_id": movement.user_id,
        "debit_account": movement.debit, "credit_account": movement.credit, "amount_fen": movement.amount_fen,
        "order_id": movement.order_id, "commission_id": movement.commission_id, "payout_id": movement.payout_id,
        "memo": movement.memo, "created_at": utcnow(),
    }


def _expire_wallet(user_id: int) -> None:
    """Keep a loaded Wallet object in step with the UPDATE (no query now)."""
    wallet = db.session.identity_map.get(identity_key(Wallet, user_id))
    if wallet is not None:
        db.session.expire(wallet)


def is_posted(key: str) -> bool:
    return db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.idempotency_key == key)) is not None
