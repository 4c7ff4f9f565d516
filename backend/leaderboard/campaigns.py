"""Campaigns: create, the standings of a window, and closing with prizes paid once.

Standings come from the database (the truth), ordered like every board: score,
then who reached it first, then id. Closing locks the campaign row, archives the
standings and credits each prize through the ledger (key ``prize:{campaign}:{user}``)
with a payout on the configured rail — all in one transaction, so a second run
of the closing job finds the campaign closed and changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select

from backend.commission import ledger
from backend.commission.ledger import Movement, user_account
from backend.commission.ledger_keys import prize_key
from backend.commission.models import Commission, LedgerEntry, Payout
from backend.commission.settings import get_settings
from backend.errors import ApiError
from backend.extensions import db
from backend.leaderboard.models import Campaign, CampaignStanding
from backend.orders.models import Order
from backend.timeutil import as_utc, utcnow

SHOP_PRIZE_EXPENSE = "shop:prize_expense"
ARCHIVE_AT_LEAST = 100  # ranks kept beyond the prize ranks, for the record


def create(name: str, metric: str, starts_at: datetime, ends_at: datetime, prizes: list[dict]) -> Campaign:
    if as_utc(ends_at) <= as_utc(starts_at):
        raise ApiError("VALIDATION_ERROR", "A campaign ends after it starts")
    taken: set[int] = set()
    for tier in prizes:
        ranks = set(range(tier["from_rank"], tier["to_rank"] + 1))
        if not ranks or ranks & taken:
            raise ApiError("VALIDATION_ERROR", "Prize tiers must be non-empty and must not overlap")
        taken |= ranks
    campaign = Campaign(name=name, metric=metric, starts_at=as_utc(starts_at), ends_at=as_utc(ends_at),
                        prizes=prizes, status="open")
    db.session.add(campaign)
    db.session.flush()
    return campaign


def prize_for(campaign: Campaign, rank: int) -> int:
    for tier in campaign.prizes:
        if tier["from_rank"] <= rank <= tier["to_rank"]:
            return int(tier["amount_fen"])
    return 0


def standings_query(metric: str, start: datetime, end: datetime):
    """(user_id, score, reached_at) for a window, best first, from released rows."""
    released = and_(LedgerEntry.commission_id == Commission.id, LedgerEntry.kind == "commission_released")
    if metric == "commission":
        score, reached, moment = (func.sum(Commission.amount_fen - Commission.reversed_fen),
                                  func.max(Commission.created_at), Commission.created_at)
        base = select(Commission.user_id.label("user_id")).join(LedgerEntry, released)
    else:
        base = (select(Commission.user_id.label("user_id")).join(LedgerEntry, released)
                .join(Order, Order.id == Commission.order_id).where(Commission.level == 1))
        moment, reached = Order.paid_at, func.max(Order.paid_at)
        if metric == "gmv":
            score = func.sum(Order.paid_fen - Order.refunded_fen)
        elif metric == "orders":
            score = func.sum(case((Order.refunded_fen < Order.paid_fen, 1), else_=0))
        else:  # customers: the buyer's first paid order
            first = (select(Order.user_id.label("buyer"), func.min(Order.paid_at).label("first_at"))
                     .where(Order.paid_at.is_not(None)).group_by(Order.user_id).subquery())
            base = base.join(first, and_(first.c.buyer == Order.user_id, first.c.first_at == Order.paid_at))
            score = func.count()
    score, reached = score.label("score"), reached.label("reached_at")
    return (base.add_columns(score, reached).where(moment >= start, moment < end)
            .group_by(Commission.user_id).order_by(score.desc(), reached.asc(), Commission.user_id.asc()))


def standings(campaign: Campaign, limit: int) -> list[tuple[int, int, int, datetime]]:
    """[(rank, user_id, score, reached_at)] — archived once closed, live before."""
    if campaign.status == "closed":
        rows = db.session.scalars(select(CampaignStanding).where(CampaignStanding.campaign_id == campaign.id)
                                  .order_by(CampaignStanding.rank).limit(limit))
        return [(s.rank, s.user_id, s.score, s.reached_at) for s in rows]
    rows = db.session.execute(standings_query(campaign.metric, campaign.starts_at, campaign.ends_at).limit(limit))
    return [(i + 1, r.user_id, int(r.score), r.reached_at) for i, r in enumerate(rows)]


def close(campaign_id: int) -> list[int]:
    """Archive the standings and pay the prizes, once. Returns payout ids to run."""
    campaign = db.session.scalar(select(Campaign).where(Campaign.id == campaign_id).with_for_update())
    if campaign is None:
        raise ApiError("NOT_FOUND", f"Campaign {campaign_id} does not exist", 404)
    if campaign.status == "closed":
        return []
    if as_utc(campaign.ends_at) > utcnow():
        raise ApiError("CONFLICT", f"Campaign {campaign_id} runs until {as_utc(campaign.ends_at).isoformat()}")
    held_until = db.session.scalar(select(func.max(Commission.available_at)).where(_on_hold(campaign)))
    if held_until is not None:
        raise ApiError("CONFLICT", f"Campaign {campaign_id} closes when the commissions of its window have left "
                                   f"their hold (until {as_utc(held_until).isoformat()})")
    prize_ranks = max((t["to_rank"] for t in campaign.prizes), default=0)
    settings = get_settings()
    payout_ids = []
    for rank, user_id, score, reached_at in standings(campaign, max(prize_ranks, ARCHIVE_AT_LEAST)):
        prize = prize_for(campaign, rank) if score > 0 else 0
        row = CampaignStanding(campaign_id=campaign.id, rank=rank, user_id=user_id, score=score,
                               reached_at=reached_at, prize_fen=prize)
        db.session.add(row)
        if prize:
            ledger.post(Movement(
                key=prize_key(campaign.id, user_id), kind="prize_awarded", user_id=user_id,
                debit=SHOP_PRIZE_EXPENSE, credit=user_account(user_id, "available"), amount_fen=prize,
                earned_delta=prize, memo=f"{campaign.name}: rank {rank}"))
            payout = Payout(kind="prize", user_id=user_id, amount_fen=prize, rail=settings.payout_rail,
                            status="pending", next_attempt_at=utcnow())
            db.session.add(payout)
            db.session.flush()
            row.payout_id = payout.id
            payout_ids.append(payout.id)
    campaign.status = "closed"
    campaign.closed_at = utcnow()
    db.session.flush()
    return payout_ids


def _on_hold(campaign):
    """A commission of the campaign's window that has not reached a wallet yet (on
    hold): the standings count released commissions only, so it would never count
    if the campaign closed before its release."""
    return and_(Commission.status == "pending", Commission.created_at >= campaign.starts_at,
                Commission.created_at < campaign.ends_at)


def due_ids() -> list[int]:
    """Open campaigns that ended at least a hold ago and whose window has no commission
    left on hold (a sale of the last minute is released ``hold_days`` after it)."""
    hold = timedelta(days=get_settings().hold_days)
    return list(db.session.scalars(select(Campaign.id).where(
        Campaign.status == "open", Campaign.ends_at <= utcnow() - hold,
        ~select(Commission.id).where(_on_hold(Campaign)).exists())))


def awards(campaign_id: int) -> list[dict]:
    """The prizes a closed campaign paid, by rank: each with its payout's status."""
    rows = db.session.execute(
        select(CampaignStanding.rank, CampaignStanding.user_id, CampaignStanding.score, CampaignStanding.prize_fen,
               CampaignStanding.payout_id, Payout.status)
        .outerjoin(Payout, Payout.id == CampaignStanding.payout_id)
        .where(CampaignStanding.campaign_id == campaign_id, CampaignStanding.prize_fen > 0)
        .order_by(CampaignStanding.rank)).all()
    return [{"rank": rank, "user_id": user_id, "score": score, "amount_fen": prize, "payout_id": payout_id,
             "payout_status": status} for rank, user_id, score, prize, payout_id, status in rows]
