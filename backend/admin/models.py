"""The audit log of admin mutations and the shop's daily figures (the dashboard rollup)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import UTCDateTime, db
from backend.timeutil import utcnow


class AdminAuditEntry(db.Model):
    """One admin mutation (POST/PUT/PATCH/DELETE under /api/v1/admin/), written in the
    same transaction as the change itself (``backend/admin/audit.py``)."""

    __tablename__ = "admin_audit"
    __table_args__ = (
        Index("ix_admin_audit_created", "created_at", "id"),
        Index("ix_admin_audit_admin_created", "admin_id", "created_at"),
        Index("ix_admin_audit_action_created", "action", "created_at"),
        Index("ix_admin_audit_target", "target_type", "target_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    admin_id: Mapped[int] = mapped_column(Integer)
    admin_username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(128))  # the endpoint, e.g. admin_commission.write_settings
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(512))
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ShopDailyStats(db.Model):
    """The figures of one closed Asia/Shanghai day, recomputed idempotently by
    ``backend/admin/dashboard.py roll_up_day`` (the dashboard's 30 days read these)."""

    __tablename__ = "shop_daily_stats"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    gmv_fen: Mapped[int] = mapped_column(Integer, default=0)
    paid_orders: Mapped[int] = mapped_column(Integer, default=0)
    refunded_fen: Mapped[int] = mapped_column(Integer, default=0)
    commission_credited_fen: Mapped[int] = mapped_column(Integer, default=0)
    new_users: Mapped[int] = mapped_column(Integer, default=0)
    new_distributors: Mapped[int] = mapped_column(Integer, default=0)
    rolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ShopDailyCommission(db.Model):
    """One distributor's commission earned on one closed Shanghai day (the dashboard's
    top distributors over 30 days), written with the day's ``ShopDailyStats``."""

    __tablename__ = "shop_daily_commissions"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commission_fen: Mapped[int] = mapped_column(Integer, default=0)


class ShopRunningDay(db.Model):
    """The current Asia/Shanghai day so far: its figures up to ``through``, advanced by the
    sweeper a slice at a time (``backend/admin/running_day.py``), so a reader counts
    only the minutes since ``through`` live. Dropped once the day is rolled up whole."""

    __tablename__ = "shop_running_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    through: Mapped[datetime] = mapped_column(UTCDateTime)
    gmv_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_orders: Mapped[int] = mapped_column(Integer, default=0)
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    commission_credited_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    new_users: Mapped[int] = mapped_column(Integer, default=0)
    new_distributors: Mapped[int] = mapped_column(Integer, default=0)


class ShopRunningCommission(db.Model):
    """One distributor's commission earned so far on the running day (up to its ``through``);
    indexed by amount so the day's leaders are an index range, not a sort."""

    __tablename__ = "shop_running_commissions"
    __table_args__ = (Index("ix_shop_running_commissions_day_fen", "day", "commission_fen"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    commission_fen: Mapped[int] = mapped_column(BigInteger, default=0)
