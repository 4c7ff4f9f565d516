"""Products with their price breaks, MOQ, order multiple, stock and optional commission rates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.extensions import UTCDateTime, db
from backend.timeutil import utcnow


class Product(db.Model):
    __tablename__ = "products"
    __table_args__ = (
        # The database refuses an oversell even if a code path forgets to check.
        CheckConstraint("stock >= 0", name="stock_non_negative"),
        CheckConstraint("price_fen >= 0", name="price_non_negative"),
        CheckConstraint("moq >= 1 AND order_multiple >= 1", name="moq_positive"),
        CheckConstraint("level1_bp IS NULL OR (level1_bp >= 0 AND level1_bp <= 10000)", name="level1_bp_range"),
        CheckConstraint("level2_bp IS NULL OR (level2_bp >= 0 AND level2_bp <= 10000)", name="level2_bp_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    brand: Mapped[str | None] = mapped_column(String(100))
    part_no: Mapped[str | None] = mapped_column(String(100), index=True)
    # The first price break's unit price rounded half-up to the fen (kept by the service,
    # for lists and the API contract); lines are priced from ``price_breaks``.
    price_fen: Mapped[int] = mapped_column(Integer)
    moq: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    order_multiple: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    stock: Mapped[int] = mapped_column(Integer, default=0)
    # Per-product commission: a rate in basis points, or a fixed amount per unit.
    level1_bp: Mapped[int | None] = mapped_column(Integer)
    level2_bp: Mapped[int | None] = mapped_column(Integer)
    level1_fixed_fen: Mapped[int | None] = mapped_column(Integer)
    level2_fixed_fen: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    price_breaks: Mapped[list[PriceBreakRow]] = relationship(
        order_by="PriceBreakRow.min_qty", lazy="selectin", cascade="all, delete-orphan")


class PriceBreakRow(db.Model):
    """From ``min_qty`` units on, each costs ``unit_price_micro`` micro-yuan (1/10,000 fen;
    docs/catalog.md). The first break starts at the product's MOQ."""

    __tablename__ = "product_price_breaks"
    __table_args__ = (
        UniqueConstraint("product_id", "min_qty"),
        CheckConstraint("min_qty >= 1", name="min_qty_positive"),
        CheckConstraint("unit_price_micro >= 0", name="unit_price_non_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    min_qty: Mapped[int] = mapped_column(Integer)
    unit_price_micro: Mapped[int] = mapped_column(BigInteger)
