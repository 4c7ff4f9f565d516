"""Crediting one payout and choosing its rail: the step shared by the credit batch
(``credit.py``) and by ``payouts.advance``, with the row locks and limits both use.

A commission payout first releases its commission to the wallet (pending →
available, once its hold is over); then the rail decides: the wallet rail ends
there (``in_wallet``); a WeChat rail holds the money (available → in transit) and
leaves the payout ``submitting`` for ``payouts.advance`` to send.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from backend.commission import ledger
from backend.commission import service as commission_service
from backend.commission.ledger import Movement, user_account
from backend.commission.ledger_keys import payout_key
from backend.commission.models import Commission, Payout, Wallet
from backend.commission.settings import get_settings
from backend.extensions import db
from backend.timeutil import SHOP_TZ, as_utc, utcnow

TRANSFER_RAILS = ("wechat_transfer", "wechat_legacy_transfer")
# Why a transfer payout ended in the wallet (its last_error; read back by ``waiting.py``).
BELOW_MINIMUM = "below the transfer minimum; kept in the wallet"
OVER_DAILY_LIMIT = "daily transfer limit reached; kept in the wallet"
REVERSED_BEFORE_PAYOUT = "commission reversed before payout"
MAX_BACKOFF = timedelta(minutes=10)


def bill_number(payout: Payout) -> str:
    return f"FP{payout.id:012d}A{payout.attempt:02d}"


def key(payout: Payout, step: str) -> str:
    """The ledger key of a step of this payout's current attempt."""
    return payout_key(payout.id, payout.attempt, step)


def lock(payout_id: int) -> Payout | None:
    return db.session.scalar(select(Payout).where(Payout.id == payout_id).with_for_update())


def lock_wallet(user_id: int) -> Wallet | None:
    return db.session.scalar(select(Wallet).where(Wallet.user_id == user_id).with_for_update()
                             .execution_options(populate_existing=True))


def backoff(tries: int) -> timedelta:
    return min(timedelta(seconds=2 ** min(tries, 10)), MAX_BACKOFF)


def paid_today_fen(user_id: int) -> int:
    # Midnight in Shanghai, compared in UTC (SQLite and MySQL keep no offset).
    start_local = datetime.now(SHOP_TZ).replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    return int(db.session.scalar(
        select(func.coalesce(func.sum(Payout.amount_fen), 0)).where(
            Payout.user_id == user_id,
            Payout.status.in_(("submitting", "wait_user_confirm", "processing", "succeeded")),
            Payout.submitted_at >= start_local,
        )) or 0)


def hold(payout: Payout, kind: str = "payout_hold") -> None:
    """available → in transit for this attempt: the money WeChat is about to be asked for."""
    ledger.post(Movement(
        key=key(payout, "hold"), kind=kind, user_id=payout.user_id,
        debit=user_account(payout.user_id, "available"), credit=user_account(payout.user_id, "in_transit"),
        amount_fen=payout.amount_fen, payout_id=payout.id, commission_id=payout.commission_id,
        require_funds=True))


def finish(payout: Payout, status: str, note: str | None = None) -> None:
    payout.status = status
    payout.finished_at = utcnow()
    if note:
        payout.last_error = note
    db.session.flush()


def credit_and_route(payout: Payout, commission: Commission | None = None) -> None:
    """The instant part (credit the wallet), then the rail decides what follows.
    The caller holds the payout's row lock (and the commission's, if it passes it)."""
    if payout.kind == "commission":
        if commission is None:
            commission = db.session.scalar(
                select(Commission).where(Commission.id == payout.commission_id).with_for_update())
        if commission.status == "pending":
            if as_utc(commission.available_at) > utcnow():
                payout.next_attempt_at = commission.available_at  # on hold: the sweeper comes back
                return
            commission_service.release(commission)
        # What a refund clawed back before the payout ran never leaves.
        if commission.amount_fen == commission.reversed_fen:
            finish(payout, "in_wallet", REVERSED_BEFORE_PAYOUT)
            return
        payout.amount_fen = min(payout.amount_fen, commission.amount_fen - commission.reversed_fen)
    settings = get_settings()
    if payout.rail not in TRANSFER_RAILS:
        finish(payout, "in_wallet")
        return
    # The wallet's row lock makes the balance and today's total (read next) the
    # current ones: a withdrawal or another transfer of this user waits for us.
    wallet = lock_wallet(payout.user_id)
    # A negative balance (after a clawback) is netted first: only what is really
    # available leaves, and amounts below WeChat's minimum wait in the wallet.
    amount = min(payout.amount_fen, wallet.available_fen if wallet else 0)
    if amount < settings.minimum_for(payout.rail):
        finish(payout, "in_wallet", BELOW_MINIMUM)
        return
    if paid_today_fen(payout.user_id) + amount > settings.daily_transfer_limit_fen:
        finish(payout, "in_wallet", OVER_DAILY_LIMIT)
        return
    payout.amount_fen = amount
    hold(payout)
    payout.out_bill_no = bill_number(payout)
    payout.status = "submitting"
    payout.tries = 0
    payout.submitted_at = utcnow()  # counts towards today's limit at once, also within one batch
    db.session.flush()
