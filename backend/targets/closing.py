"""Closing a month: each distributor's bonus computed and paid once, through the ledger.

A month is due once it has ended (Asia/Shanghai) and the hold that follows its last
sale is over (``hold_days``): its commissions have reached the wallets and the refunds
of that window have been counted. ``close`` takes the month's ``target_closes`` row
lock (inserted first if missing, in a savepoint so a racing inserter is harmless):
the second of two racing closes waits, finds the month closed and pays nothing. Each
bonus is a ``target_bonuses`` row (unique per distributor and month) and one ledger
movement keyed ``target:{user}:{month}:award`` to the distributor's available balance, with a
payout on the shop's rail like a campaign prize.

A refund after the close of an order the month counted takes back the bonus pro rata
(``rules.clawback``), in the refund's transaction, keyed per refund and bonus; a failed
refund gives it back.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from backend.auth.models import User
from backend.commission import ledger
from backend.commission.ledger import Movement, user_account
from backend.commission.ledger_keys import target_award_key, target_reinstatement_key, target_reversal_key
from backend.commission.models import LedgerEntry, Payout
from backend.commission.settings import get_settings
from backend.errors import ApiError
from backend.extensions import db
from backend.leaderboard.periods import period_bounds, period_key
from backend.levels import service as levels
from backend.orders.models import Order, Refund
from backend.risk.models import RiskReview
from backend.targets import plans, rules
from backend.targets.models import TargetBonus, TargetClose
from backend.timeutil import utcnow

SHOP_TARGET_EXPENSE = "shop:target_bonus_expense"
CHUNK = 1000


def rejected_fen(start: datetime, end: datetime, user_ids: list[int]) -> dict[int, int]:
    """Per distributor, the net GMV of their orders of the window that an operator rejected
    in risk review (风控): a fraudulent sale earns no bonus, as it earns no commission."""
    if not user_ids:
        return {}
    rows = db.session.execute(
        select(Order.level1_id, func.sum(Order.paid_fen - Order.refunded_fen))
        .join(RiskReview, RiskReview.order_id == Order.id)
        .where(RiskReview.status == "rejected", Order.level1_id.in_(user_ids), Order.paid_at >= start,
               Order.paid_at < end).group_by(Order.level1_id))
    return {uid: int(fen) for uid, fen in rows}


def achieved(start: datetime, end: datetime, user_ids: list[int]) -> dict[int, int]:
    """Own paid GMV net of refunds (the levels' measure) less what risk review rejected."""
    figures = levels.measure(start, user_ids, until=end)
    rejected = rejected_fen(start, end, user_ids)
    return {uid: figures.get(uid, levels.Figures()).gmv_fen - rejected.get(uid, 0) for uid in user_ids}


def pending_reviews(key: str) -> int:
    """Orders of the month still held for risk review: the month waits for their decision."""
    start, end = period_bounds("month", key)
    return int(db.session.scalar(
        select(func.count()).select_from(RiskReview).join(Order, Order.id == RiskReview.order_id)
        .where(RiskReview.status == "pending", Order.paid_at >= start, Order.paid_at < end)))


def due_at(key: str) -> datetime:
    """When a month may close: its end plus the hold."""
    return period_bounds("month", key)[1] + timedelta(days=get_settings().hold_days)


def due_periods(now: datetime | None = None, back: int = 3) -> list[str]:
    """The last ``back`` months that are due and not closed yet, oldest first."""
    now = now or utcnow()
    keys, start = [], period_bounds("month", period_key("month", now))[0]
    for _ in range(back):
        start = period_bounds("month", period_key("month", start - timedelta(days=1)))[0]
        keys.append(period_key("month", start))
    closed = set(db.session.scalars(select(TargetClose.period_key).where(
        TargetClose.period_key.in_(keys), TargetClose.status == "closed")))
    return [k for k in reversed(keys) if k not in closed and due_at(k) <= now]


def _lock(key: str) -> TargetClose:
    try:
        with db.session.begin_nested():
            db.session.add(TargetClose(period_key=key, status="open"))
    except IntegrityError:
        pass  # another close inserted it: its lock is what we wait for next
    return db.session.scalar(select(TargetClose).where(TargetClose.period_key == key).with_for_update())


def close(key: str, now: datetime | None = None, progress=None) -> dict:
    """Pay the month's bonuses once. Returns {period_key, distributors, bonus_fen,
    payout_ids, already_closed}."""
    now = now or utcnow()
    if due_at(key) > now:
        raise ApiError("TARGET_PERIOD_NOT_DUE", f"{key} can close from {due_at(key).isoformat()}",
                       details={"due_at": due_at(key).isoformat()})
    held = pending_reviews(key)
    if held:
        raise ApiError("TARGET_PERIOD_NOT_DUE", f"{key} closes once its {held} order(s) held for risk review are "
                       "decided", details={"due_at": due_at(key).isoformat(), "pending_reviews": held})
    row = _lock(key)
    if row.status == "closed":
        return {"period_key": key, "distributors": row.distributors, "bonus_fen": row.bonus_fen,
                "payout_ids": [], "already_closed": True}
    start, end = period_bounds("month", key)
    distributors = list(db.session.execute(
        select(User.id, User.level_id).where(User.distributor_status == "approved").order_by(User.id)))
    resolved = plans.resolve(key, [(uid, level_id) for uid, level_id in distributors])
    ids = sorted(resolved)
    rail = get_settings().payout_rail
    payout_ids, total = [], 0
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i:i + CHUNK]
        figures = achieved(start, end, chunk)
        for uid in chunk:
            plan = resolved[uid]
            result = rules.outcome(figures[uid], plan.target_fen, plan.tiers)
            bonus = TargetBonus(user_id=uid, period_key=key, plan_id=plan.id, target_fen=plan.target_fen,
                                achieved_fen=figures[uid], attainment_bp=result.attainment_bp,
                                bonus_bp=result.bonus_bp, bonus_fen=result.bonus_fen, refunded_after_fen=0,
                                reversed_fen=0)
            db.session.add(bonus)
            db.session.flush()
            if result.bonus_fen > 0:
                ledger.ensure_wallet(uid)
                ledger.post(Movement(
                    key=target_award_key(uid, key), kind="target_bonus", user_id=uid,
                    debit=SHOP_TARGET_EXPENSE, credit=user_account(uid, "available"),
                    amount_fen=result.bonus_fen, earned_delta=result.bonus_fen,
                    memo=f"target {key}: {result.attainment_bp / 100:.2f}% → {result.bonus_bp} bp"))
                payout = Payout(kind="target_bonus", user_id=uid, amount_fen=result.bonus_fen, rail=rail,
                                status="pending", next_attempt_at=utcnow())
                db.session.add(payout)
                db.session.flush()
                bonus.payout_id = payout.id
                payout_ids.append(payout.id)
                total += result.bonus_fen
        if progress:
            progress(min(i + CHUNK, len(ids)), len(ids))
    row.status, row.closed_at = "closed", utcnow()
    row.distributors, row.bonus_fen = len(ids), total
    db.session.flush()
    return {"period_key": key, "distributors": len(ids), "bonus_fen": total, "payout_ids": payout_ids,
            "already_closed": False}


def _bonus_of(order, *, lock: bool) -> TargetBonus | None:
    if order.level1_id is None or order.paid_at is None:
        return None
    stmt = select(TargetBonus).where(TargetBonus.user_id == order.level1_id,
                                     TargetBonus.period_key == period_key("month", order.paid_at))
    return db.session.scalar(stmt.with_for_update() if lock else stmt)


def _refunded_after(bonus: TargetBonus, excluding: int | None = None) -> int:
    """Refunds (not failed) asked for after the close, of the orders the bonus counted."""
    start, end = period_bounds("month", bonus.period_key)
    stmt = (select(func.coalesce(func.sum(Refund.amount_fen), 0)).join(Order, Order.id == Refund.order_id)
            .where(Order.level1_id == bonus.user_id, Order.paid_at >= start, Order.paid_at < end,
                   Refund.created_at >= bonus.created_at, Refund.status != "failed"))
    if excluding is not None:
        stmt = stmt.where(Refund.id != excluding)
    return int(db.session.scalar(stmt))


def claw_back(order, refund_id: int) -> None:
    """A refund of ``order`` after its month closed takes back the bonus pro rata.
    Called in the refund's transaction (the refund row flushed), under the order's lock."""
    bonus = _bonus_of(order, lock=True)
    if bonus is None or bonus.bonus_fen == 0:
        return
    bonus.refunded_after_fen = _refunded_after(bonus)
    amount = rules.clawback(bonus.bonus_fen, bonus.reversed_fen, bonus.refunded_after_fen, bonus.achieved_fen)
    if amount and ledger.post(Movement(
            key=target_reversal_key(refund_id, bonus.id), kind="target_bonus_reversed", user_id=bonus.user_id,
            debit=user_account(bonus.user_id, "available"), credit=SHOP_TARGET_EXPENSE, amount_fen=amount,
            order_id=order.id, earned_delta=-amount, memo=f"refund {refund_id}")):
        bonus.reversed_fen += amount
    db.session.flush()


def undo_claw_back(order, refund_id: int) -> None:
    """The refund failed: what it took back of the bonus returns."""
    bonus = _bonus_of(order, lock=True)
    if bonus is None or bonus.bonus_fen == 0:
        return
    bonus.refunded_after_fen = _refunded_after(bonus, excluding=refund_id)
    taken = db.session.scalar(select(LedgerEntry.amount_fen).where(
        LedgerEntry.idempotency_key == target_reversal_key(refund_id, bonus.id)))
    if taken and ledger.post(Movement(
            key=target_reinstatement_key(refund_id, bonus.id), kind="target_bonus_reinstated",
            user_id=bonus.user_id, debit=SHOP_TARGET_EXPENSE, credit=user_account(bonus.user_id, "available"),
            amount_fen=taken, order_id=order.id, earned_delta=taken, memo=f"refund {refund_id} failed")):
        bonus.reversed_fen -= taken
    db.session.flush()
