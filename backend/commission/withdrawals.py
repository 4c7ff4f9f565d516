"""Money a person asks for, and an operator's retry of a failed transfer: both hold
the money (available → in transit) under the wallet's row lock, within the daily
limit, and leave a ``submitting`` payout for ``payouts.advance`` to send."""

from __future__ import annotations

from backend.auth.models import User
from backend.commission import outbox
from backend.commission.models import Payout
from backend.commission.routing import TRANSFER_RAILS, bill_number, hold, lock, lock_wallet, paid_today_fen
from backend.commission.settings import get_settings
from backend.errors import ApiError
from backend.extensions import db
from backend.timeutil import utcnow


def create_withdrawal(user: User, amount_fen: int) -> Payout:
    settings = get_settings()
    rail = "wechat_legacy_transfer" if settings.payout_rail == "wechat_legacy_transfer" else "wechat_transfer"
    minimum = settings.minimum_for(rail)
    if amount_fen < minimum:
        raise ApiError("AMOUNT_TOO_SMALL", f"The smallest withdrawal is {minimum} fen",
                       details={"minimum_fen": minimum})
    # Two withdrawals of one user at once: the second waits here, then counts the first.
    lock_wallet(user.id)
    if paid_today_fen(user.id) + amount_fen > settings.daily_transfer_limit_fen:
        raise ApiError("DAILY_LIMIT_EXCEEDED", "Today's withdrawal limit is reached")
    payout = Payout(kind="withdrawal", user_id=user.id, amount_fen=amount_fen, rail=rail, status="submitting",
                    tries=0, next_attempt_at=utcnow(), submitted_at=utcnow())  # counts towards today at once
    db.session.add(payout)
    db.session.flush()
    hold(payout, kind="withdrawal_hold")
    payout.out_bill_no = bill_number(payout)
    db.session.flush()
    return payout


def retry_failed(payout_id: int) -> Payout:
    """An operator retries a failed transfer: a new attempt with a new bill number
    (WeChat never reuses a failed one), the money held again."""
    payout = lock(payout_id)
    if payout is None:
        raise ApiError("PAYOUT_NOT_FOUND", f"Payout {payout_id} does not exist")
    if payout.status != "failed" or payout.rail not in TRANSFER_RAILS:
        raise ApiError("PAYOUT_NOT_RETRYABLE", f"Payout {payout_id} is {payout.status}")
    # The same limit as any transfer, read under the wallet's lock: a retry is money
    # leaving today, like a withdrawal made at this moment.
    lock_wallet(payout.user_id)
    if paid_today_fen(payout.user_id) + payout.amount_fen > get_settings().daily_transfer_limit_fen:
        raise ApiError("DAILY_LIMIT_EXCEEDED", f"Payout {payout_id} would pass the user's transfer limit for today")
    payout.attempt += 1
    payout.tries = 0
    payout.package_info = None
    payout.transfer_bill_no = None
    payout.submitted_at = utcnow()  # counts towards today's limit at once
    payout.finished_at = None
    hold(payout)
    payout.out_bill_no = bill_number(payout)
    payout.status = "submitting"
    payout.next_attempt_at = utcnow()
    db.session.flush()
    outbox.enqueue_transfers_after_commit([payout.id])
    return payout
