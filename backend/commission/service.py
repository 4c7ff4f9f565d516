"""Commission rules applied to orders: who earns, how much, and clawback.

Called inside the payment (and refund) transaction; it flushes, the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import timedelta

from sqlalchemy import insert, select

from backend.auth.models import User
from backend.commission import ledger, outbox, rules
from backend.commission.ledger import SHOP_COMMISSION_EXPENSE, Movement, user_account
from backend.commission.ledger_keys import earn_key, reinstatement_key, release_key, reversal_key
from backend.commission.models import Commission, Payout, Wallet
from backend.commission.settings import DistributionSettings
from backend.commission.wallet_check import drift_of
from backend.extensions import db
from backend.referral import contributions
from backend.risk import signals as risk_signals
from backend.timeutil import utcnow


def open_wallet(user_id: int) -> None:
    """A distributor gets a wallet when they become one, so crediting never has to
    look for it first."""
    ledger.ensure_wallet(user_id)


@dataclass(frozen=True)
class Member:
    """A person of the commission chain: as much of the user row (and of their
    distributor level's row) as the rules read."""

    id: int
    distributor_status: str
    inviter_id: int | None
    level1_bp_override: int | None
    level2_bp_override: int | None
    level_name: str | None = None  # the distributor level (backend/levels), None: no level
    level_level1_bp: int | None = None
    level_level2_bp: int | None = None

    @property
    def is_distributor(self) -> bool:
        return self.distributor_status == "approved"


MEMBER_FIELDS = tuple(f.name for f in fields(Member))
# Member fields read from the users row; the others from the level row, joined on users.level_id.
USER_FIELDS = MEMBER_FIELDS[:5]
LEVEL_COLUMNS = {"level_name": "name", "level_level1_bp": "level1_bp", "level_level2_bp": "level2_bp"}


def member_columns(users, levels, prefix: str) -> list:
    """The columns of a Member from a users alias and its level alias (outer joined on
    ``levels.id == users.level_id``), labelled ``{prefix}_{field}``."""
    return [users.c[name].label(f"{prefix}_{name}") for name in USER_FIELDS] + \
        [levels.c[column].label(f"{prefix}_{name}") for name, column in LEVEL_COLUMNS.items()]


def member_from(row, prefix: str) -> Member | None:
    """The Member in a row whose columns are labelled ``{prefix}_{field}`` (None for an outer join's miss)."""
    values = {name: getattr(row, f"{prefix}_{name}") for name in MEMBER_FIELDS}
    return None if values["id"] is None else Member(**values)


def _member_where(condition) -> Member | None:
    from backend.levels.models import DistributorLevel

    users, levels = User.__table__, DistributorLevel.__table__
    row = db.session.execute(
        select(*member_columns(users, levels, "m")).select_from(users)
        .outerjoin(levels, levels.c.id == users.c.level_id).where(condition)).one_or_none()
    return None if row is None else member_from(row, "m")


@dataclass(frozen=True)
class Chain:
    level1: Member | None
    level2: Member | None
    source: str | None  # binding | share | self


NO_CHAIN = Chain(None, None, None)


def commission_chain(buyer: Member, inviter: Member | None, inviters_inviter: Member | None,
                     share_code: str | None, settings: DistributionSettings) -> Chain:
    """Who earns on an order being paid now, from the buyer and the two people above
    them (read with the order, so the usual case costs no query of its own).

    The buyer's binding decides; a share link counts only for a buyer nobody has
    bound. Self-purchase puts a distributor buyer at level 1 when enabled."""
    if settings.self_purchase and buyer.is_distributor:
        level1, level2, source = buyer, inviter, "self"
    elif inviter is not None:
        level1, level2, source = inviter, inviters_inviter, "binding"
    elif share_code:
        level1 = _member_where(User.__table__.c.invite_code == share_code.strip().upper())
        if level1 is None or level1.id == buyer.id or not level1.is_distributor:
            return NO_CHAIN
        level2 = _member_where(User.__table__.c.id == level1.inviter_id) if level1.inviter_id else None
        source = "share"
    else:
        return NO_CHAIN
    if level2 is not None and (level2.id == buyer.id or not level2.is_distributor):
        level2 = None
    return Chain(level1, level2, source)


def _frozen_and_stopped(ids: list[int]) -> set[int]:
    """The chain's frozen distributors whose commission stops (channel setting
    ``freeze_commission = "stop"``); with "continue" (the default) no query at all."""
    from backend.channel.models import ChannelFreeze
    from backend.channel.settings import get_settings as channel_settings

    if not ids or channel_settings().freeze_commission != "stop":
        return set()
    return set(db.session.scalars(select(ChannelFreeze.user_id).where(ChannelFreeze.user_id.in_(ids))))


def record_commissions(order_id: int, buyer_id: int, chain: Chain, lines: list[rules.Line],
                       settings: DistributionSettings, payer_openid: str | None = None) -> int:
    """Write the commission lines of a paid order, their pending ledger entries, and
    one pending payout per line (the outbox), and have the credit job enqueued once
    the transaction commits (no statement: a Redis call after the commit). The caller
    holds the order's row lock and has just moved it from pending_payment to paid.
    Returns the number of payouts written."""
    level1, level2 = chain.level1, chain.level2
    if level1 is None or not level1.is_distributor:
        return 0
    # A frozen distributor's own share stops with freeze_commission "stop"; the other level's stays.
    stopped = _frozen_and_stopped([m.id for m in (level1, level2) if m is not None])
    earning = tuple(n for n, m in ((1, level1), (2, level2)) if m is not None and m.id not in stopped)
    if not earning:
        return 0
    # rate_bp records the person's rate; lines priced by a product's own rate or
    # fixed amount make a single figure meaningless, so it stays empty then.
    product_priced = any(
        x is not None for line in lines
        for x in (line.level1_bp, line.level2_bp, line.level1_fixed_fen, line.level2_fixed_fen))
    beneficiaries = {1: level1, 2: level2}
    (level1_bp, level1_why), (level2_bp, level2_why) = \
        rate_of(level1, 1, settings), rate_of(level2, 2, settings) if level2 else (0, None)
    rates = rules.Rates(level1_bp=level1_bp, level2_bp=level2_bp, cap_bp=settings.cap_bp)
    why = {1: rules.rate_source(lines, 1, level1_why), 2: rules.rate_source(lines, 2, level2_why)}
    amounts = rules.split(lines, rates, levels=earning)
    now = utcnow()
    rows = [
        dict(order_id=order_id, user_id=beneficiaries[level].id, buyer_id=buyer_id, level=level, amount_fen=amount,
             reversed_fen=0, rate_bp=None if product_priced else (rates.level1_bp if level == 1 else rates.level2_bp),
             rate_source=why[level], source=chain.source, status="pending",
             available_at=now + timedelta(days=settings.hold_days), created_at=now)
        for level, amount in sorted(amounts.items()) if amount > 0
    ]
    if not rows:
        return 0
    # Core INSERT … RETURNING: the paid path writes plain rows, no unit-of-work bookkeeping.
    ids = db.session.scalars(_INSERT_COMMISSIONS, rows).all()
    contributions.add((row["user_id"], row["buyer_id"], row["amount_fen"]) for row in rows)
    # Guarded by the order's row lock and its pending_payment → paid move: the
    # unique keys stay as the database's backstop, without a savepoint each.
    ledger.post_guarded([
        Movement(
            key=earn_key(cid), kind="commission_earned", user_id=row["user_id"],
            debit=SHOP_COMMISSION_EXPENSE, credit=user_account(row["user_id"], "pending"),
            amount_fen=row["amount_fen"], order_id=order_id, commission_id=cid, earned_delta=row["amount_fen"],
            memo=f"order {order_id} level {row['level']}",
        )
        for cid, row in zip(ids, rows, strict=True)
    ])
    # Risk control (docs/risk.md): a flagged order's commissions stay pending, without a
    # payout, until an operator decides; decided here, before any payout exists (hold_days 0).
    verdict = risk_signals.verdict(buyer_id, level1.id, level2.id if level2 else None, payer_openid)
    if verdict is not None:
        risk_signals.hold(order_id, level1.id, verdict)
        return 0
    db.session.execute(insert(Payout.__table__), [
        dict(kind="commission", user_id=row["user_id"], commission_id=cid, amount_fen=row["amount_fen"],
             rail=settings.payout_rail, status="pending", attempt=1, tries=0, next_attempt_at=now,
             created_at=now, updated_at=now)
        for cid, row in zip(ids, rows, strict=True)])
    outbox.enqueue_credit_after_commit()
    return len(rows)


_INSERT_COMMISSIONS = insert(Commission.__table__).returning(Commission.__table__.c.id, sort_by_parameter_order=True)


def rate_of(user: Member, level: int, settings: DistributionSettings) -> tuple[int, str]:
    """The person's rate at one level and why (docs/money.md, "Rate precedence"): their own
    KOL rate, else their distributor level's, else the shop's default. (A product's own
    rate or fixed amount, which beats all three, is applied per line by ``rules``.)"""
    override = user.level1_bp_override if level == 1 else user.level2_bp_override
    if override is not None:
        return override, "kol"
    level_bp = user.level_level1_bp if level == 1 else user.level_level2_bp
    if level_bp is not None:
        return level_bp, f"level:{user.level_name}"
    return (settings.level1_bp if level == 1 else settings.level2_bp), "default"


def release_movement(commission: Commission) -> Movement:
    """pending → available for what is left of a commission after clawbacks."""
    return Movement(
        key=release_key(commission.id), kind="commission_released", user_id=commission.user_id,
        debit=user_account(commission.user_id, "pending"), credit=user_account(commission.user_id, "available"),
        amount_fen=commission.amount_fen - commission.reversed_fen, order_id=commission.order_id,
        commission_id=commission.id,
    )


def release(commission: Commission) -> bool:
    """Move a commission from pending to available once its hold is over.
    The caller holds the commission's row lock."""
    if commission.status != "pending":
        return False
    remaining = commission.amount_fen - commission.reversed_fen
    if remaining > 0:
        ledger.post_guarded([release_movement(commission)])
        commission.released_at = utcnow()
    commission.status = "available" if remaining > 0 else "reversed"
    db.session.flush()
    return True


def clawback_plan(commissions, refunded_total_fen: int, paid_fen: int) -> list[tuple[Commission, int, str]]:
    """(commission, fen to reverse, account it is taken from) for refunds totalling
    ``refunded_total_fen``: what ``claw_back`` posts, and what a refund preview shows."""
    plan = []
    for commission in commissions:
        amount = rules.clawback(commission.amount_fen, commission.reversed_fen, refunded_total_fen, paid_fen)
        if amount > 0:
            plan.append((commission, amount, "pending" if commission.status == "pending" else "available"))
    return plan


def claw_back(order, refund_id: int) -> None:
    """Reverse the order's commissions pro rata to what has been refunded so far.
    Pending money is taken from pending; released money from available, which may
    go negative and is netted against future commission."""
    commissions = _lock_for_movement(order.id)
    team_changes = []
    for commission, amount, source in clawback_plan(commissions, order.refunded_fen, order.paid_fen):
        posted = ledger.post(Movement(
            key=reversal_key(refund_id, commission.id), kind="commission_reversed",
            user_id=commission.user_id, debit=user_account(commission.user_id, source),
            credit=SHOP_COMMISSION_EXPENSE, amount_fen=amount, order_id=order.id,
            commission_id=commission.id, earned_delta=-amount, memo=f"refund {refund_id}",
        ))
        if posted:
            commission.reversed_fen += amount
            team_changes.append((commission.user_id, commission.buyer_id, -amount))
            if commission.reversed_fen == commission.amount_fen:
                commission.status = "reversed"
    contributions.add(team_changes)  # one upsert, rows in key order
    db.session.flush()


def undo_claw_back(order, refund_id: int) -> None:
    """A refund WeChat refused (or closed): after ``order.refunded_fen`` went back
    down, give back what the remaining refunds no longer justify.

    Each commission keeps ``reversed_fen`` at the pro-rata target of the order's
    cumulative refund (``rules.clawback``); the failed refund gives back the
    difference, which is not always what it clawed back itself (a later refund that
    completed the order reversed "the rest", rounded differently)."""
    commissions = _lock_for_movement(order.id)
    team_changes = []
    for commission in commissions:
        target = rules.clawback(commission.amount_fen, 0, order.refunded_fen, order.paid_fen)
        amount = commission.reversed_fen - target
        if amount <= 0:
            continue
        released = ledger.is_posted(release_key(commission.id))
        posted = ledger.post(Movement(
            key=reinstatement_key(refund_id, commission.id), kind="commission_reinstated",
            user_id=commission.user_id, debit=SHOP_COMMISSION_EXPENSE,
            credit=user_account(commission.user_id, "available" if released else "pending"),
            amount_fen=amount, order_id=order.id, commission_id=commission.id,
            earned_delta=amount, memo=f"refund {refund_id} did not happen",
        ))
        if posted:
            commission.reversed_fen -= amount
            team_changes.append((commission.user_id, commission.buyer_id, amount))
            payout_status = _payout_status(commission.id)
            if commission.status == "reversed":
                # Back to what it was before the clawback: its money may have left already.
                commission.status = ("withdrawn" if payout_status == "succeeded" else "available") if released \
                    else "pending"
            if commission.status == "pending" and payout_status not in (None, "pending"):
                release(commission)  # its payout finished while it was reversed: nobody else will
    contributions.add(team_changes)
    db.session.flush()


def _lock_for_movement(order_id: int) -> list[Commission]:
    """The order's commissions, then their earners' wallets, locked in the one order
    every money path takes (payouts, then commissions by id, then wallets by user id:
    the credit batch's order). A refund that locked its level-1 earner's wallet before
    its level-2 earner's (a later user id first) crossed a credit batch locking the
    same two the other way round, and PostgreSQL killed one of them (issue 19)."""
    commissions = db.session.scalars(
        select(Commission).where(Commission.order_id == order_id).order_by(Commission.id).with_for_update()).all()
    ledger.lock_wallets({c.user_id for c in commissions})
    return commissions


def _payout_status(commission_id: int) -> str | None:
    return db.session.scalar(select(Payout.status).where(Payout.commission_id == commission_id))


def wallet_view(user_id: int) -> dict:
    wallet = db.session.get(Wallet, user_id)
    if wallet is None:
        return {"pending_fen": 0, "available_fen": 0, "withdrawn_fen": 0, "total_earned_fen": 0, "in_transit_fen": 0}
    return {
        "pending_fen": wallet.pending_fen,
        "available_fen": wallet.available_fen,
        "withdrawn_fen": wallet.paid_out_fen,
        "total_earned_fen": wallet.total_earned_fen,
        "in_transit_fen": wallet.in_transit_fen,
    }


def commissions_of(order_id: int) -> list[Commission]:
    return list(db.session.scalars(select(Commission).where(Commission.order_id == order_id).order_by(Commission.id)))


def wallets_of(user_ids) -> dict[int, dict]:
    """``wallet_view`` of each user that has a wallet, in one query."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    wallets = db.session.scalars(select(Wallet).where(Wallet.user_id.in_(ids)))
    return {wallet.user_id: wallet_view(wallet.user_id) for wallet in wallets}


def check_wallet(user_id: int) -> dict:
    """Recompute a wallet from the ledger and compare: {column: (stored, derived)} of any drift."""
    return drift_of([user_id]).get(user_id, {})
