"""Products with price, stock and optional commission rates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import UTCDateTime, db
from backend.timeutil import utcnow


class Product(db.Model):
    __tablename__ = "products"
    __table_args__ = (
        # The database refuses an oversell even if a code path forgets to check.
        CheckConstraint("stock >= 0", name="stock_non_negative"),
        CheckConstraint("price_fen >= 0", name="price_non_negative"),
        CheckConstraint("level1_bp IS NULL OR (level1_bp >= 0 AND level1_bp <= 10000)", name="level1_bp_range"),
        CheckConstraint("level2_bp IS NULL OR (level2_bp >= 0 AND level2_bp <= 10000)", name="level2_bp_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    brand: Mapped[str | None] = mapped_column(String(100))
    part_no: Mapped[str | None] = mapped_column(String(100), index=True)
    price_fen: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    # Per-product commission: a rate in basis points, or a fixed amount per unit.
    level1_bp: Mapped[int | None] = mapped_column(Integer)
    level2_bp: Mapped[int | None] = mapped_column(Integer)
    level1_fixed_fen: Mapped[int | None] = mapped_column(Integer)
    level2_fixed_fen: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
