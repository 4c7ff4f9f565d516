"""Risk control: the client facts the signals read, the reviews of held orders, and
the distributors under review (docs/risk.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import UTCDateTime, db
from backend.timeutil import utcnow

FACT_KINDS = ("device", "ip")
REVIEW_STATUSES = ("pending", "approved", "rejected")


class ClientFact(db.Model):
    """A device id or client IP a user was seen with (login, events, binds)."""

    __tablename__ = "risk_client_facts"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "value", name="uq_risk_client_facts_user_kind_value"),
        # the second-account check: who else was seen with this device
        Index("ix_risk_client_facts_kind_value", "kind", "value"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(8))  # device|ip
    value: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BindFact(db.Model):
    """A bind and the client it came from; ``farm`` once it is part of a bind farm."""

    __tablename__ = "risk_bind_facts"
    __table_args__ = (
        Index("ix_risk_bind_facts_inviter_ip", "inviter_id", "ip", "created_at"),
        Index("ix_risk_bind_facts_inviter_device", "inviter_id", "device_id", "created_at"),
        Index("ix_risk_bind_facts_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    inviter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    ip: Mapped[str | None] = mapped_column(String(64))
    device_id: Mapped[str | None] = mapped_column(String(64))
    farm: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RiskReview(db.Model):
    """A held order: its commissions stay pending (no payout is written) until an
    operator approves (payouts written, the normal hold applies) or rejects (reversed)."""

    __tablename__ = "risk_reviews"
    __table_args__ = (
        UniqueConstraint("order_id", name="uq_risk_reviews_order_id"),
        Index("ix_risk_reviews_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    distributor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))  # the order's level-1 earner
    status: Mapped[str] = mapped_column(String(16), default="pending")
    score: Mapped[int] = mapped_column(Integer, default=0)
    signals: Mapped[list] = mapped_column(JSON)  # rule names
    evidence: Mapped[dict] = mapped_column(JSON)  # per rule: what was found
    decided_by: Mapped[int | None] = mapped_column(Integer)  # admin user id
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DistributorWatch(db.Model):
    """A distributor the nightly pass put under review: their new orders are held."""

    __tablename__ = "risk_distributor_watch"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    under_review: Mapped[bool] = mapped_column(Boolean, default=True)
    score: Mapped[int] = mapped_column(Integer, default=0)
    signals: Mapped[list] = mapped_column(JSON)
    evidence: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
