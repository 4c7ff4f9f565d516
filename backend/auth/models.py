"""People: shop users (consumers and distributors) and admin accounts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import UTCDateTime, db
from backend.timeutil import utcnow


class User(db.Model):
    """A mini-program user. The referral columns live here because every order and
    every bind reads them: one row, one index lookup."""

    __not_found_code__ = "NOT_FOUND"  # fixed by the API contract before the naming rule

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("depth >= 0", name="depth_non_negative"),
        # team pages: one index range per level, newest first; the nickname rides along
        # so a search filters inside the index instead of visiting every member's row
        Index("ix_users_inviter_team", "inviter_id", "bound_at", "id", "nickname"),
        Index("ix_users_inviter2_team", "inviter2_id", "bound_at", "id", "nickname"),
        # the operators' user list (referral.user_search): newest first, by status,
        # by joined range (the dashboard's new users per day too), and a nickname
        # prefix (pattern ops: PostgreSQL's LIKE 'x%' reads a text index only with
        # them, whatever the database's collation)
        Index("ix_users_created", "created_at", "id"),
        Index("ix_users_status_created", "distributor_status", "created_at", "id"),
        Index("ix_users_nickname_prefix", "nickname", postgresql_ops={"nickname": "varchar_pattern_ops"}),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64))
    nickname: Mapped[str] = mapped_column(String(64), default="")
    avatar_url: Mapped[str] = mapped_column(String(512), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # distribution
    distributor_status: Mapped[str] = mapped_column(String(16), default="none")  # none|pending|approved|disabled
    invite_code: Mapped[str | None] = mapped_column(String(16), unique=True)
    real_name: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    level1_bp_override: Mapped[int | None] = mapped_column(Integer)  # KOL rates
    level2_bp_override: Mapped[int | None] = mapped_column(Integer)
    # the distributor level (backend/levels): its rates come after the KOL rates above.
    # No foreign key, like inviter2_id: the paid path joins it, SQLite adds it in place.
    level_id: Mapped[int | None] = mapped_column(Integer)
    # 保级: consecutive closed months the level's conditions were missed, and the last month judged
    level_missed_periods: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    level_checked_period: Mapped[str | None] = mapped_column(String(7))
    # why an operator last turned an application down (the status goes back to none)
    distributor_rejection_reason: Mapped[str | None] = mapped_column(String(255))

    # the relationship tree (see referral.service for the rules)
    inviter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # the inviter's inviter, kept in step by every bind and rebind (referral.service)
    inviter2_id: Mapped[int | None] = mapped_column(Integer)
    bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bind_source: Mapped[str | None] = mapped_column(String(32))
    depth: Mapped[int] = mapped_column(Integer, default=0)  # 0 = a root
    root_id: Mapped[int | None] = mapped_column(Integer, index=True)
    has_paid_order: Mapped[bool] = mapped_column(Boolean, default=False)
    # when the user last became an approved distributor (the dashboard's new distributors)
    distributor_since: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    @property
    def is_distributor(self) -> bool:
        return self.distributor_status == "approved"


class AdminUser(db.Model):
    __tablename__ = "admin_users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'operator', 'finance')", name="known_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
