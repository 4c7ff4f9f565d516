"""Campaigns: a board with a start, an end and prizes; standings archived at the end."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import UTCDateTime, db
from backend.timeutil import utcnow


class Campaign(db.Model):
    __tablename__ = "campaigns"
    __not_found_code__ = "NOT_FOUND"  # the code the campaign routes answered before the naming rule
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("metric IN ('commission', 'gmv', 'orders', 'customers')", name="known_metric"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    metric: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # [{"from_rank": 1, "to_rank": 1, "amount_fen": 50000}, {"from_rank": 2, "to_rank": 10, ...}]
    prizes: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|closed
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CampaignStanding(db.Model):
    """The frozen result of a closed campaign; a prize is paid from this row."""

    __tablename__ = "campaign_standings"
    __table_args__ = (
        UniqueConstraint("campaign_id", "rank", name="uq_campaign_standings_rank"),
        UniqueConstraint("campaign_id", "user_id", name="uq_campaign_standings_user"),
        CheckConstraint("prize_fen >= 0", name="prize_non_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    rank: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    score: Mapped[int] = mapped_column(Integer)
    reached_at: Mapped[datetime] = mapped_column(UTCDateTime)
    prize_fen: Mapped[int] = mapped_column(Integer, default=0)
    payout_id: Mapped[int | None] = mapped_column(ForeignKey("payouts.id"))
