"""Products with their price breaks, MOQ, order multiple, stock and optional commission rates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.extensions import UTCDateTime, db
from backend.timeutil import utcnow

SEARCH_INCLUDE = ["part_category", "part_package", "part_brand_id", "part_dielectric", "active", "stock"]


class Product(db.Model):
    __tablename__ = "products"
    __table_args__ = (
        # The database refuses an oversell even if a code path forgets to check.
        CheckConstraint("stock >= 0", name="stock_non_negative"),
        CheckConstraint("price_fen >= 0", name="price_non_negative"),
        CheckConstraint("moq >= 1 AND order_multiple >= 1", name="moq_positive"),
        CheckConstraint("level1_bp IS NULL OR (level1_bp >= 0 AND level1_bp <= 10000)", name="level1_bp_range"),
        CheckConstraint("level2_bp IS NULL OR (level2_bp >= 0 AND level2_bp <= 10000)", name="level2_bp_range"),
        # Search over products alone (backend/catalog/search_columns.py): each index leads with
        # a broad filter and carries the facet columns, so on PostgreSQL a package's facets are
        # one index-only range.
        Index("ix_products_search_category", "part_category", "part_package", postgresql_include=SEARCH_INCLUDE),
        Index("ix_products_search_package", "part_package", postgresql_include=SEARCH_INCLUDE),
        Index("ix_products_search_brand", "part_brand_id", "part_package", postgresql_include=SEARCH_INCLUDE),
        Index("ix_products_search_mpn", "part_mpn_key", postgresql_include=SEARCH_INCLUDE,
              postgresql_ops={"part_mpn_key": "varchar_pattern_ops"}),  # LIKE 'C0402%' in any collation
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    brand: Mapped[str | None] = mapped_column(String(100))
    part_no: Mapped[str | None] = mapped_column(String(100), index=True)
    # The part this product sells (many products may sell one part); set from (part_no,
    # brand) by the service. No foreign key: SQLite adds the column in place (like users.level_id).
    part_id: Mapped[int | None] = mapped_column(Integer, index=True)
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
    # The part's search columns, copied (backend/catalog/search_columns.py keeps them);
    # null without a part.
    part_category: Mapped[str | None] = mapped_column(String(32))
    part_package: Mapped[str | None] = mapped_column(String(64))
    part_brand_id: Mapped[int | None] = mapped_column(Integer)
    part_dielectric: Mapped[str | None] = mapped_column(String(16))
    part_mpn_key: Mapped[str | None] = mapped_column(String(64))

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


LIFECYCLES = ("active", "nrnd", "eol")


class Brand(db.Model):
    """A manufacturer. Every way of writing it is a row of ``brand_aliases`` (by ``keys.brand_key``)."""

    __tablename__ = "brands"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BrandAlias(db.Model):
    __tablename__ = "brand_aliases"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)  # keys.brand_key of the alias
    alias: Mapped[str] = mapped_column(String(100))  # as first written
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"), index=True)


class Part(db.Model):
    """The part master: one row per (MPN, brand) after normalising (docs/catalog.md). The
    shop's products sell a part (``products.part_id``); the reconciliation module's prices,
    PO lines, receipt and statement lines name it by ``part_id`` (the table was
    ``recon_parts`` until migration 0025).

    ``part_no`` is the MPN as first written, ``brand`` the brand's name (copied from
    ``brands``: reconciliation groups and exports by it without a join); ``mpn_key`` and
    ``brand_id`` are what make it unique. Typed parameters are integers in small units so
    that "identical key parameters" is an equality: capacitance in fF (1 pF = 1000: 0.5 pF
    and 2.2 pF parts exist), voltage in mV, resistance in milliohm, power in mW; tolerance
    a normalised short text ("10%", "0.25pF")."""

    __tablename__ = "parts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    part_no: Mapped[str] = mapped_column(String(64))
    brand: Mapped[str] = mapped_column(String(64))
    # Set by every writer (backend/catalog/parts.py); nullable and brand_id without a foreign
    # key only because SQLite cannot change a table that other tables reference in place
    # (migration 0025).
    mpn_key: Mapped[str | None] = mapped_column(String(64))
    brand_id: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(32), default="other", server_default="other")
    package: Mapped[str] = mapped_column(String(64), default="")
    description: Mapped[str] = mapped_column(String(500), default="")
    datasheet_url: Mapped[str | None] = mapped_column(String(500))
    lifecycle: Mapped[str] = mapped_column(String(8), default="active", server_default="active")
    capacitance_ff: Mapped[int | None] = mapped_column(BigInteger)  # femtofarad: 2.2 pF is 2200
    voltage_mv: Mapped[int | None] = mapped_column(Integer)
    dielectric: Mapped[str | None] = mapped_column(String(16))
    tolerance: Mapped[str | None] = mapped_column(String(16))
    resistance_mohm: Mapped[int | None] = mapped_column(BigInteger)
    power_mw: Mapped[int | None] = mapped_column(Integer)

    params: Mapped[list[PartParam]] = relationship(order_by="PartParam.name", lazy="selectin",
                                                   cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("part_no", "brand", name="uq_recon_parts_part_no_brand"),  # implied by the next
        # varchar_pattern_ops: PostgreSQL serves an MPN prefix (LIKE 'GRM155%') from this index
        # in any collation; equality (the upserts' lookups) too.
        Index("uq_parts_mpn_key_brand", "mpn_key", "brand_id", unique=True,
              postgresql_ops={"mpn_key": "varchar_pattern_ops"}),
        Index("ix_parts_brand", "brand_id", "mpn_key"),
        Index("ix_parts_mlcc", "category", "package", "capacitance_ff", "voltage_mv"),
        Index("ix_parts_resistor", "category", "package", "resistance_mohm"),
        Index("ix_parts_package", "package", "category"),
    )


class PartParam(db.Model):
    """A parameter of a category without typed columns (free key/value)."""

    __tablename__ = "part_params"

    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(100))

    __table_args__ = (Index("ix_part_params_value", "name", "value"),)


ImportFile = LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
ImportReport = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


class CatalogImport(db.Model):
    """An uploaded catalog file and what its import job made of it (``state`` queued →
    running → done | failed; ``progress_done`` of ``progress_total`` rows written)."""

    __tablename__ = "catalog_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filename: Mapped[str] = mapped_column(String(200))
    data: Mapped[bytes | None] = mapped_column(ImportFile)  # dropped once the import is done
    state: Mapped[str] = mapped_column(String(16), default="queued")
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[str] = mapped_column(ImportReport, default="{}")  # JSON: importer.Report.to_dict()
    error: Mapped[str] = mapped_column(String(500), default="")
    admin_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
