"""Target plans, the bonus of each distributor and month, and the close of each month."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import UTCDateTime, db
from backend.timeutil import utcnow


class TargetPlan(db.Model):
    """A monthly target for the members of a level or for one distributor (theirs wins),
    for every month (``period_key`` NULL) or one named month (which wins over every
    month). ``tiers``: ``[{attainment_bp, bonus_bp}]`` by increasing attainment."""

    __tablename__ = "target_plans"
    __table_args__ = (
        CheckConstraint("(level_id IS NULL) <> (user_id IS NULL)", name="one_scope"),
        CheckConstraint("target_fen > 0", name="target_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    level_id: Mapped[int | None] = mapped_column(ForeignKey("distributor_levels.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    period_key: Mapped[str | None] = mapped_column(String(7))  # YYYY-MM, NULL: every month
    target_fen: Mapped[int] = mapped_column(BigInteger)
    tiers: Mapped[list] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class TargetClose(db.Model):
    """One row per closed month: its row lock makes two racing closes one."""

    __tablename__ = "target_closes"

    period_key: Mapped[str] = mapped_column(String(7), primary_key=True)
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | closed
    distributors: Mapped[int] = mapped_column(Integer, default=0)
    bonus_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TargetBonus(db.Model):
    """What a distributor earned for a month, with the figures it was computed from.
    Unique per (user, month): the database's backstop behind the close's row lock and
    the ledger key ``target:{user}:{month}:award``."""

    __tablename__ = "target_bonuses"
    __table_args__ = (
        UniqueConstraint("user_id", "period_key", name="uq_target_bonuses_user_period"),
        CheckConstraint("reversed_fen >= 0 AND reversed_fen <= bonus_fen", name="reversed_within_bonus"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    period_key: Mapped[str] = mapped_column(String(7), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("target_plans.id"))
    target_fen: Mapped[int] = mapped_column(BigInteger)
    achieved_fen: Mapped[int] = mapped_column(BigInteger)  # own paid GMV net of refunds at close
    attainment_bp: Mapped[int] = mapped_column(Integer)
    bonus_bp: Mapped[int] = mapped_column(Integer)
    bonus_fen: Mapped[int] = mapped_column(BigInteger)
    # Refunds after the close of the month's orders, and what they took back of the bonus.
    refunded_after_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    reversed_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    payout_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
