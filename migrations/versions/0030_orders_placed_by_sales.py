"""orders remember the operator who placed them for a customer (代客下单)

Sales, on the phone with a customer whose part is short, accept a substitute for them
in the console and place the order; the customer pays it in the mini-program.

Revision ID: 0030_orders_placed_by_sales
Revises: 0029_substitute_group_decisions
"""
import sqlalchemy as sa
from alembic import op

revision = "0030_orders_placed_by_sales"
down_revision = "0029_substitute_group_decisions"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("orders", sa.Column("placed_by_admin_id", sa.Integer(), nullable=True))


def downgrade():
    # in place, not batch: SQLite cannot rebuild a table other tables reference (>= 3.35 drops it)
    op.drop_column("orders", "placed_by_admin_id")
