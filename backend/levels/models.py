"""Distributor levels and every change of a distributor's level.

A distributor's current level is ``users.level_id`` (next to the KOL rates: the paid
path reads it with the chain, joined to its level's rates, in the read it already
makes); ``users.level_missed_periods`` / ``level_checked_period`` keep the 保级 count.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import UTCDateTime, db
from backend.timeutil import utcnow


class DistributorLevel(db.Model):
    """One level: its rates and its upgrade conditions, all measured on sales (own GMV
    net of refunds, paying customers, team GMV) over a rolling window. There is no
    column for people recruited on purpose: that would be head-count pay (DESIGN.md §3)."""

    __tablename__ = "distributor_levels"
    __table_args__ = (
        CheckConstraint("rank >= 0", name="rank_non_negative"),
        CheckConstraint("level1_bp >= 0 AND level1_bp <= 10000", name="level1_bp_range"),
        CheckConstraint("level2_bp >= 0 AND level2_bp <= 10000", name="level2_bp_range"),
        CheckConstraint("window_days >= 1", name="window_positive"),
        CheckConstraint("min_gmv_fen >= 0 AND min_customers >= 0 AND min_team_gmv_fen >= 0",
                        name="conditions_non_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, unique=True)  # higher is better
    name: Mapped[str] = mapped_column(String(32), unique=True)
    level1_bp: Mapped[int] = mapped_column(Integer)
    level2_bp: Mapped[int] = mapped_column(Integer)
    window_days: Mapped[int] = mapped_column(Integer, default=30)
    min_gmv_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # own paid GMV net of refunds
    min_customers: Mapped[int] = mapped_column(Integer, default=0)  # distinct paying buyers
    min_team_gmv_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # own + level-2 orders, net
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class LevelChange(db.Model):
    """A level change (or a missed period in grace), with the figures it was decided on."""

    __tablename__ = "distributor_level_changes"
    __table_args__ = (Index("ix_distributor_level_changes_user", "user_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    from_level_id: Mapped[int | None] = mapped_column(ForeignKey("distributor_levels.id"))
    to_level_id: Mapped[int | None] = mapped_column(ForeignKey("distributor_levels.id"))
    reason: Mapped[str] = mapped_column(String(16))  # upgrade | downgrade | grace
    gmv_fen: Mapped[int] = mapped_column(BigInteger)
    customers: Mapped[int] = mapped_column(Integer)
    team_gmv_fen: Mapped[int] = mapped_column(BigInteger)
    window_days: Mapped[int] = mapped_column(Integer)
    period: Mapped[str | None] = mapped_column(String(7))  # the month closed (YYYY-MM), for period-end decisions
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
