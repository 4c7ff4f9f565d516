"""Settings, commissions, the append-only ledger, wallets and payouts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import UTCDateTime, db
from backend.timeutil import utcnow


class Setting(db.Model):
    """Operator settings, one JSON document per key (e.g. ``distribution``)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Commission(db.Model):
    """What one beneficiary earns from one paid order at one level."""

    __tablename__ = "commissions"
    __table_args__ = (
        # The database, not the code path, makes a replayed notify harmless.
        UniqueConstraint("order_id", "level", name="uq_commissions_order_level"),
        CheckConstraint("level IN (1, 2)", name="level_known"),  # never a third level
        CheckConstraint("amount_fen >= 0", name="amount_non_negative"),
        CheckConstraint("reversed_fen >= 0 AND reversed_fen <= amount_fen", name="reversal_within_amount"),
        Index("ix_commissions_user_created", "user_id", "created_at"),
        # team pages: what each member brought me, page by page or sorted by it
        Index("ix_commissions_user_buyer", "user_id", "buyer_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    level: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(Integer)
    reversed_fen: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|available|withdrawn|reversed
    rate_bp: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))  # binding|share|self
    # which rate applied and why: product | kol | level:{name} | default, "product+…" when mixed
    rate_source: Mapped[str | None] = mapped_column(String(48))
    available_at: Mapped[datetime] = mapped_column(UTCDateTime)  # end of the hold
    # when it reached the wallet (its release entry was posted): on the boards from then
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerEntry(db.Model):
    """One balanced movement between two accounts. Append-only.

    Accounts are strings: ``user:{id}:pending|available|in_transit|paid_out`` and
    ``shop:commission_expense``. An entry debits one and credits the
    other, so the books always balance; every entry carries an idempotency key the
    database keeps unique.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("debit_account <> credit_account", name="distinct_accounts"),
        Index("ix_ledger_entries_user_created", "user_id", "created_at"),
        Index("ix_ledger_entries_kind_created", "kind", "created_at"),  # the dashboard's commission per day
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(96), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    debit_account: Mapped[str] = mapped_column(String(48), index=True)
    credit_account: Mapped[str] = mapped_column(String(48), index=True)
    amount_fen: Mapped[int] = mapped_column(Integer)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    commission_id: Mapped[int | None] = mapped_column(ForeignKey("commissions.id"), index=True)
    payout_id: Mapped[int | None] = mapped_column(ForeignKey("payouts.id"), index=True)
    memo: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Wallet(db.Model):
    """Running balances of a distributor, kept in step with the ledger in the same
    transaction; ``commission.service.check_wallet`` recomputes them from entries."""

    __tablename__ = "wallets"
    __table_args__ = (
        CheckConstraint("pending_fen >= 0", name="pending_non_negative"),
        CheckConstraint("in_transit_fen >= 0", name="in_transit_non_negative"),
        CheckConstraint("paid_out_fen >= 0", name="paid_out_non_negative"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    pending_fen: Mapped[int] = mapped_column(Integer, default=0)
    available_fen: Mapped[int] = mapped_column(Integer, default=0)  # may go negative after a clawback
    in_transit_fen: Mapped[int] = mapped_column(Integer, default=0)
    paid_out_fen: Mapped[int] = mapped_column(Integer, default=0)
    total_earned_fen: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


PAYOUT_STATUSES = (
    "pending",  # written, not yet handled by a worker (the outbox)
    "in_wallet",  # done: the money stays in the wallet (wallet rail, or below WeChat's minimum)
    "submitting",  # a transfer was asked for; its answer is not recorded yet -> query, never re-create blindly
    "wait_user_confirm",  # transfer bill created; the user confirms it in the mini-program
    "processing",  # WeChat is moving the money
    "succeeded",
    "failed",  # WeChat said no / expired / cancelled: the money is back in the wallet
)


class Payout(db.Model):
    """A transfer out of the wallet: a commission payout (kind ``commission``) or a
    withdrawal the user asked for (kind ``withdrawal``). One row, one state machine."""

    __tablename__ = "payouts"
    __table_args__ = (
        UniqueConstraint("commission_id", name="uq_payouts_commission_id"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("attempt >= 1", name="attempt_positive"),
        Index("ix_payouts_status_next", "status", "next_attempt_at"),
        # The console's lists, newest first: withdrawals (kind) and payouts by status;
        # with the amount, the dashboard's sums by status read the index alone.
        Index("ix_payouts_kind_id", "kind", "id"),
        Index("ix_payouts_status_id", "status", "id", "amount_fen"),
        Index("ix_payouts_user_created", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # commission|withdrawal
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    commission_id: Mapped[int | None] = mapped_column(ForeignKey("commissions.id"))
    amount_fen: Mapped[int] = mapped_column(Integer)
    rail: Mapped[str] = mapped_column(String(32))  # wallet|wechat_transfer|wechat_legacy_transfer
    status: Mapped[str] = mapped_column(String(24), default="pending")
    attempt: Mapped[int] = mapped_column(Integer, default=1)  # a new bill number per operator retry
    tries: Mapped[int] = mapped_column(Integer, default=0)  # transient failures of this attempt
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    out_bill_no: Mapped[str | None] = mapped_column(String(32), unique=True)
    transfer_bill_no: Mapped[str | None] = mapped_column(String(64))
    package_info: Mapped[str | None] = mapped_column(String(1024))
    last_error: Mapped[str | None] = mapped_column(String(512))
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
