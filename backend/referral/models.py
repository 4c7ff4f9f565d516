"""Every bind and rebind, kept with its source and reason; what each member brought each earner."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import UTCDateTime, db
from backend.timeutil import utcnow


class BindHistory(db.Model):
    __tablename__ = "bind_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    old_inviter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    new_inviter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(32))  # login|bind|order|admin
    reason: Mapped[str] = mapped_column(String(255), default="")
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TeamContribution(db.Model):
    """Net commission a buyer has brought an earner (what the team page sorts by).

    A read model kept in the same transactions as the commissions it adds up:
    created with them, lowered by clawbacks, raised again when a refund is undone.
    """

    __tablename__ = "team_contributions"
    __table_args__ = (Index("ix_team_contributions_rank", "earner_id", "net_fen", "buyer_id"),)

    earner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    net_fen: Mapped[int] = mapped_column(Integer, default=0)


class TeamSize(db.Model):
    """How many people someone has at level 1 and 2: a team page's total without
    counting 100k index entries. Kept by every bind and move (referral.service), in
    its own table so the counter locks never mix with the tree's row locks (and without
    a foreign key: checking one would lock the user's row again)."""

    __tablename__ = "team_sizes"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    level1_count: Mapped[int] = mapped_column(Integer, default=0)
    level2_count: Mapped[int] = mapped_column(Integer, default=0)
