"""Orders, their lines and refunds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.extensions import UTCDateTime, db
from backend.timeutil import utcnow

ORDER_STATUSES = (
    "pending_payment", "paid", "shipped", "completed", "cancelled", "refunded", "partially_refunded",
)


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("total_fen >= 0", name="total_non_negative"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= paid_fen", name="refund_within_paid"),
        # the sweeper finds unpaid orders past their deadline by this index
        Index("ix_orders_status_expires", "status", "expires_at"),
        # the operators' order list: newest first, by each filter (docs/admin-orders.md)
        # (…, created_at, id): the list's own order, read from the index without a sort
        Index("ix_orders_created_at", "created_at", "id"),
        Index("ix_orders_status_created", "status", "created_at", "id"),
        Index("ix_orders_user_created", "user_id", "created_at", "id"),
        Index("ix_orders_level1_created", "level1_id", "created_at", "id"),
        # paid_at: ix_orders_paid_at, declared by community/models.py
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(24), default="pending_payment")
    total_fen: Mapped[int] = mapped_column(Integer)
    paid_fen: Mapped[int] = mapped_column(Integer, default=0)
    refunded_fen: Mapped[int] = mapped_column(Integer, default=0)
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    transaction_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    share_code: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The commission chain, snapshotted at payment: a later rebind moves nothing.
    level1_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    level2_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    chain_source: Mapped[str | None] = mapped_column(String(16))  # binding|share|self
    # 代客下单: the operator (sales) who placed it for the customer, who pays it in the
    # mini-program; an accepted substitute on it was accepted by that operator.
    placed_by_admin_id: Mapped[int | None] = mapped_column(Integer)

    items: Mapped[list[OrderItem]] = relationship(back_populates="order", order_by="OrderItem.id")


class OrderItem(db.Model):
    __tablename__ = "order_items"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_fen >= 0", name="unit_price_non_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    title: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_fen: Mapped[int] = mapped_column(Integer)  # the unit price rounded to the fen, for display
    # The exact unit price of the line's price break, micro-yuan (docs/catalog.md);
    # amount_fen = quantity × this, rounded half-up once. Set on every line since 0017.
    unit_price_micro: Mapped[int | None] = mapped_column(BigInteger)
    amount_fen: Mapped[int] = mapped_column(Integer)  # what the buyer pays for the line
    # An accepted substitute (替代料): the line sells ``product_id`` in place of this product,
    # accepted by this user at this time (docs/catalog.md, "The short line").
    substitute_for_product_id: Mapped[int | None] = mapped_column(Integer)
    substitute_accepted_by: Mapped[int | None] = mapped_column(Integer)
    substitute_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    order: Mapped[Order] = relationship(back_populates="items")


class Refund(db.Model):
    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        Index("ix_refunds_succeeded_at", "succeeded_at"),  # the dashboard's refunded amounts per day
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    out_refund_no: Mapped[str] = mapped_column(String(32), unique=True)
    amount_fen: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16), default="processing")  # processing|succeeded|failed
    refund_id: Mapped[str | None] = mapped_column(String(64))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the refund did to the order being fully refunded, decided under the order's
    # row lock (the leaderboards' order counts follow it; NULL on refunds made before
    # these were kept): it took the order to fully refunded; its failure took it back.
    completed_order: Mapped[bool | None] = mapped_column(Boolean)
    reopened_order: Mapped[bool | None] = mapped_column(Boolean)
