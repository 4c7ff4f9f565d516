"""Risk control's rules: the client facts, and the operators' decisions on held orders.

Services flush; the request (or job) boundary commits.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from backend.commission import ledger, outbox
from backend.commission.ledger import SHOP_COMMISSION_EXPENSE, Movement, user_account
from backend.commission.ledger_keys import risk_rejection_key
from backend.commission.models import Commission, Payout
from backend.commission.settings import get_settings
from backend.errors import ApiError
from backend.extensions import db
from backend.referral import contributions
from backend.risk.models import BindFact, ClientFact, RiskReview
from backend.risk.settings import get_risk_settings
from backend.timeutil import utcnow

DEVICE_ID_MAX = 64


def record_client(user_id: int, device_id: str | None, ip: str | None) -> None:
    """Remember the device id (and IP) a user was seen with; once per (user, kind, value)."""
    for kind, value in (("device", device_id), ("ip", ip)):
        if not value:
            continue
        value = value[:DEVICE_ID_MAX]
        seen = db.session.scalar(select(ClientFact.id).where(
            ClientFact.user_id == user_id, ClientFact.kind == kind, ClientFact.value == value))
        if seen is None:
            try:
                with db.session.begin_nested():  # a racing request may add the same fact
                    db.session.add(ClientFact(user_id=user_id, kind=kind, value=value))
                    db.session.flush()
            except IntegrityError:
                pass


def record_bind(user_id: int, inviter_id: int, ip: str | None, device_id: str | None, now=None) -> None:
    """A bind and its client. When this inviter got ``bind_farm_binds`` or more binds from
    one IP or one device within ``bind_farm_minutes``, all of those binds are a farm:
    their buyers' orders are held."""
    settings = get_risk_settings()
    now = now or utcnow()
    fact = BindFact(user_id=user_id, inviter_id=inviter_id, ip=ip, device_id=device_id and device_id[:64],
                    created_at=now)
    db.session.add(fact)
    db.session.flush()
    if not settings.bind_farm:
        return
    since = now - timedelta(minutes=settings.bind_farm_minutes)
    for column, value in ((BindFact.ip, fact.ip), (BindFact.device_id, fact.device_id)):
        if not value:
            continue
        same = (BindFact.inviter_id == inviter_id, column == value, BindFact.created_at >= since,
                BindFact.created_at <= now)
        if db.session.scalar(select(func.count()).select_from(BindFact).where(*same)) >= settings.bind_farm_binds:
            db.session.execute(update(BindFact).where(*same).values(farm=True)
                               .execution_options(synchronize_session=False))
    db.session.flush()


def _lock_review(review_id: int) -> RiskReview:
    review = db.session.scalar(select(RiskReview).where(RiskReview.id == review_id).with_for_update()
                               .execution_options(populate_existing=True))
    if review is None:
        raise ApiError("REVIEW_NOT_FOUND", f"No risk review {review_id}")
    if review.status != "pending":
        raise ApiError("REVIEW_ALREADY_DECIDED", f"Review {review_id} was already {review.status}",
                       details={"status": review.status, "decided_by": review.decided_by})
    return review


def _held_commissions(order_id: int) -> list[Commission]:
    """The order's commissions, then their wallets, locked in the money paths' order."""
    commissions = db.session.scalars(select(Commission).where(Commission.order_id == order_id)
                                     .order_by(Commission.id).with_for_update()).all()
    ledger.lock_wallets({c.user_id for c in commissions})
    return list(commissions)


def approve(review_id: int, admin_id: int | None, note: str | None = None) -> RiskReview:
    """Release the order's commissions as usual: their payouts are written now and the
    normal hold (from the payment) applies."""
    review = _lock_review(review_id)
    now = utcnow()
    rail = get_settings().payout_rail
    rows = [dict(kind="commission", user_id=c.user_id, commission_id=c.id, amount_fen=c.amount_fen - c.reversed_fen,
                 rail=rail, status="pending", attempt=1, tries=0, next_attempt_at=now, created_at=now, updated_at=now)
            for c in _held_commissions(review.order_id)
            if c.status == "pending" and c.amount_fen > c.reversed_fen]
    if rows:
        db.session.execute(insert(Payout.__table__), rows)
        outbox.enqueue_credit_after_commit()
    _decide(review, "approved", admin_id, note)
    return review


def reject(review_id: int, admin_id: int | None, note: str | None = None) -> RiskReview:
    """Reverse what is left of the held commissions through the ledger (to the shop's
    commission expense), once per review and commission."""
    review = _lock_review(review_id)
    team_changes = []
    for commission in _held_commissions(review.order_id):
        amount = commission.amount_fen - commission.reversed_fen
        if commission.status != "pending" or amount <= 0:
            continue
        if ledger.post(Movement(
                key=risk_rejection_key(review.id, commission.id), kind="commission_reversed",
                user_id=commission.user_id, debit=user_account(commission.user_id, "pending"),
                credit=SHOP_COMMISSION_EXPENSE, amount_fen=amount, order_id=commission.order_id,
                commission_id=commission.id, earned_delta=-amount, memo=f"risk review {review.id} rejected")):
            commission.reversed_fen = commission.amount_fen
            commission.status = "reversed"
            team_changes.append((commission.user_id, commission.buyer_id, -amount))
    contributions.add(team_changes)
    _decide(review, "rejected", admin_id, note)
    return review


def _decide(review: RiskReview, status: str, admin_id: int | None, note: str | None) -> None:
    from backend.admin import audit

    review.status, review.decided_by, review.decided_at, review.note = status, admin_id, utcnow(), note
    db.session.flush()
    audit.record_change("risk_review", review.id, {"status": "pending"}, {"status": status, "note": note})


def is_held(order_id: int) -> bool:
    return db.session.scalar(select(RiskReview.id).where(
        RiskReview.order_id == order_id, RiskReview.status == "pending")) is not None
