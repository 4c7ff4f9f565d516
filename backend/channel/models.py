"""Channel health (渠道淘汰): the nightly snapshot of each distributor's figures, the
freezes in force, and every operator action taken on a distributor.

``channel_health`` has one row per approved distributor, rewritten by the nightly
pass (``service_health.run_pass``); ``channel_freezes`` holds the distributors who
may not gain binds (the referral bind reads it); ``channel_actions`` is the history.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import UTCDateTime, db
from backend.timeutil import utcnow


class ChannelHealth(db.Model):
    """A distributor's figures at ``computed_at`` (money in fen; windows end then)."""

    __tablename__ = "channel_health"
    __table_args__ = (Index("ix_channel_health_last_sale", "last_sale_at", "user_id"),)

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # no FK: rewritten in bulk
    last_sale_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last paid level-1 order
    gmv_30d_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # own paid GMV net of refunds, 30 days
    gmv_prev_30d_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # the 30 days before those
    gmv_90d_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_90d_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # gross, for the refund rate
    refunded_90d_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    shares_30d: Mapped[int] = mapped_column(Integer, default=0)  # share events of their code
    visits_30d: Mapped[int] = mapped_column(Integer, default=0)  # visit events of their code
    share_orders_30d: Mapped[int] = mapped_column(Integer, default=0)  # paid orders through a share code
    team_level1: Mapped[int] = mapped_column(Integer, default=0)
    team_level2: Mapped[int] = mapped_column(Integer, default=0)
    team_buyers_30d: Mapped[int] = mapped_column(Integer, default=0)  # distinct buyers (level 1 or 2)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChannelFreeze(db.Model):
    """A frozen distributor: no new binds under them while the row exists."""

    __tablename__ = "channel_freezes"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(255))
    operator_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChannelAction(db.Model):
    """One operator action on a distributor: warn, freeze, unfreeze, revoke, restore."""

    __tablename__ = "channel_actions"
    __table_args__ = (Index("ix_channel_actions_user", "user_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(255))
    operator_id: Mapped[int | None] = mapped_column(Integer)
    released_bindings: Mapped[int] = mapped_column(Integer, default=0)  # revoke with revoke_bindings=release
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
