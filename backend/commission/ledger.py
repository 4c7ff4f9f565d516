"""Posting to the ledger, and the wallet balances that move with it.

``post`` is the only way money moves. In one savepoint it inserts the entry (its
idempotency key is unique in the database, so a replay inserts nothing) and
applies the same movement to the wallet row with a conditional UPDATE whose row
count is checked. Services call it and flush; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.util import identity_key

from backend.commission.models import LedgerEntry, Wallet
from backend.errors import ApiError
from backend.extensions import db

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
    if db.session.get(Wallet, user_id) is not None:
        return
    try:
        with db.session.begin_nested():
            db.session.add(Wallet(user_id=user_id))
    except IntegrityError:
        pass  # created concurrently: fine


def _column_for(account: str, user_id: int):
    parts = account.split(":")
    if parts[0] != "user":
        return None
    if int(parts[1]) != user_id:
        raise ValueError(f"account {account} does not belong to user {user_id}")
    return USER_ACCOUNTS[parts[2]]


def post(movement: Movement) -> bool:
    """Record a movement once. True if posted now, False if it already was."""
    if movement.amount_fen <= 0:
        raise ValueError("a movement moves a positive amount")
    ensure_wallet(movement.user_id)
    debit_col = _column_for(movement.debit, movement.user_id)
    credit_col = _column_for(movement.credit, movement.user_id)
    amount = movement.amount_fen
    try:
        with db.session.begin_nested():
            db.session.add(
                LedgerEntry(
                    idempotency_key=movement.key,
                    kind=movement.kind,
                    user_id=movement.user_id,
                    debit_account=movement.debit,
                    credit_account=movement.credit,
                    amount_fen=amount,
                    order_id=movement.order_id,
                    commission_id=movement.commission_id,
                    payout_id=movement.payout_id,
                    memo=movement.memo,
                )
            )
            db.session.flush()
            values = {}
            if debit_col is not None:
                values[debit_col.key] = debit_col - amount
            if credit_col is not None:
                values[credit_col.key] = credit_col + amount
            if movement.earned_delta:
                values["total_earned_fen"] = Wallet.total_earned_fen + movement.earned_delta
            if values:
                stmt = update(Wallet).where(Wallet.user_id == movement.user_id).values(**values)
                if movement.require_funds and debit_col is Wallet.available_fen:
                    stmt = stmt.where(Wallet.available_fen >= amount)
                result = db.session.execute(stmt.execution_options(synchronize_session=False))
                if result.rowcount != 1:
                    raise ApiError("INSUFFICIENT_BALANCE", "The available balance is too low")
    except IntegrityError:
        # The key exists: this movement was posted before. Nothing changes.
        exists = db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.idempotency_key == movement.key))
        if exists is None:
            raise
        return False
    # Keep a loaded Wallet object in step with the UPDATE above (no query now).
    wallet = db.session.identity_map.get(identity_key(Wallet, movement.user_id))
    if wallet is not None:
        db.session.expire(wallet)
    return True


def is_posted(key: str) -> bool:
    return db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.idempotency_key == key)) is not None
