"""price breaks, MOQ and order multiple of products; the exact unit price of order lines

Revision ID: 0017_price_breaks
Revises: 0016_recon_console

Every product gets one price break, from 1 unit at its price_fen (in micro-yuan:
price_fen × 10,000), MOQ 1 and order multiple 1: it sells as before. Every order line
gets its exact unit price, unit_price_fen × 10,000 (lines were priced in whole fen).
"""
import sqlalchemy as sa
from alembic import op

revision = "0017_price_breaks"
down_revision = "0016_recon_console"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('products', sa.Column('moq', sa.Integer(), server_default='1', nullable=False))
    op.add_column('products', sa.Column('order_multiple', sa.Integer(), server_default='1', nullable=False))
    if op.get_bind().dialect.name != "sqlite":  # SQLite adds no constraint to a table in place
        op.create_check_constraint(op.f('ck_products_moq_positive'), 'products', 'moq >= 1 AND order_multiple >= 1')
    op.create_table('product_price_breaks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('min_qty', sa.Integer(), nullable=False),
    sa.Column('unit_price_micro', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('min_qty >= 1', name=op.f('ck_product_price_breaks_min_qty_positive')),
    sa.CheckConstraint('unit_price_micro >= 0', name=op.f('ck_product_price_breaks_unit_price_non_negative')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_product_price_breaks_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_price_breaks')),
    sa.UniqueConstraint('product_id', 'min_qty', name=op.f('uq_product_price_breaks_product_id_min_qty'))
    )
    # PostgreSQL multiplies two integers as int4: a price over ¥2,147.48 overflowed.
    # 10000 as a 64-bit number makes the product 64-bit everywhere (MariaDB's already is).
    wide = "CAST(10000 AS BIGINT)" if op.get_bind().dialect.name == "postgresql" else "10000"
    op.execute("INSERT INTO product_price_breaks (product_id, min_qty, unit_price_micro)"
               f" SELECT id, 1, price_fen * {wide} FROM products")  # noqa: S608 - a constant
    op.add_column('order_items', sa.Column('unit_price_micro', sa.BigInteger(), nullable=True))
    op.execute(f"UPDATE order_items SET unit_price_micro = unit_price_fen * {wide}")  # noqa: S608


def _drop_column(table: str, column: str) -> None:
    # SQLite (3.35+) drops a column in place: a batch copy would DROP TABLE products,
    # which the rows referencing it (foreign keys on) refuse.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    else:
        op.drop_column(table, column)


def downgrade():
    _drop_column('order_items', 'unit_price_micro')
    op.drop_table('product_price_breaks')
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f('ck_products_moq_positive'), 'products', type_='check')
    _drop_column('products', 'order_multiple')
    _drop_column('products', 'moq')
