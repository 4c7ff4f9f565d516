"""Wallets against the ledger: the stored running balances recomputed from entries.

A wallet row is kept in step with the ledger in the same transaction as every posting,
so any difference means a bug (or a hand edit), never noise. ``drift_of`` checks a
batch of users in two grouped queries; ``flask fission ledger-check`` walks every
user that has a wallet or a ledger entry, in batches, with progress.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, select, union

from backend.commission.ledger import USER_ACCOUNTS, user_account
from backend.commission.models import LedgerEntry, Wallet
from backend.extensions import db

Drift = dict[str, tuple[int, int]]  # column -> (stored, derived)


def drift_of(user_ids: list[int]) -> dict[int, Drift]:
    """The users among ``user_ids`` whose wallet differs from their ledger sums."""
    accounts = {user_account(uid, name): (uid, column.key)
                for uid in user_ids for name, column in USER_ACCOUNTS.items()}
    derived = {uid: dict.fromkeys((c.key for c in USER_ACCOUNTS.values()), 0) for uid in user_ids}
    for side, sign in ((LedgerEntry.credit_account, 1), (LedgerEntry.debit_account, -1)):
        rows = db.session.execute(select(side, func.sum(LedgerEntry.amount_fen))
                                  .where(side.in_(list(accounts))).group_by(side))
        for account, total in rows:
            uid, column = accounts[account]
            derived[uid][column] += sign * int(total)
    wallets = {w.user_id: w for w in db.session.scalars(select(Wallet).where(Wallet.user_id.in_(user_ids)))}
    drifts: dict[int, Drift] = {}
    for uid in user_ids:
        wallet = wallets.get(uid)
        pairs = {column: (getattr(wallet, column) if wallet else 0, value) for column, value in derived[uid].items()}
        found = {column: pair for column, pair in pairs.items() if pair[0] != pair[1]}
        if found:
            drifts[uid] = found
    return drifts


def users_to_check() -> int:
    return db.session.scalar(select(func.count()).select_from(_all_user_ids().subquery()))


def batches(size: int = 1000) -> Iterator[list[int]]:
    """Every user with a wallet or a ledger entry, in id order, ``size`` at a time.
    Keyset pagination with the bound inside each source, so a batch is two index
    range reads (wallets' key, the ledger's ``(user_id, created_at)``), not a pass
    over the whole ledger."""
    after = 0
    while True:
        wallets = db.session.scalars(select(Wallet.user_id).where(Wallet.user_id > after)
                                     .order_by(Wallet.user_id).limit(size))
        in_ledger = db.session.scalars(select(LedgerEntry.user_id).where(LedgerEntry.user_id > after)
                                       .group_by(LedgerEntry.user_id).order_by(LedgerEntry.user_id).limit(size))
        batch = sorted(set(wallets) | set(in_ledger))[:size]
        if not batch:
            return
        yield batch
        after = batch[-1]


def _all_user_ids():
    return union(select(Wallet.user_id.label("user_id")),
                 select(LedgerEntry.user_id.label("user_id")).where(LedgerEntry.user_id.is_not(None)))
