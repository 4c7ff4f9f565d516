"""the console's first screens at a million users

Revision ID: 0014_console_speed
Revises: 0011_admin_console

* ``funnel_paid_daily`` gains a whole-shop row a day (dim ``shop``, dim_id 0): the
  funnel by day (and the dashboard's group join rate) read 30 rows for a month instead
  of a row per distributor per day. Days already rolled up get theirs from the product
  rows (every paid order is in exactly one of them, 0 for an order without lines).
* ``funnel_daily`` / ``funnel_paid_daily`` get (dim, day): a report reads one
  dimension over a range of days, not every dimension's rows of those days.
* ``payouts`` gets (kind, id) and (status, id, amount_fen): the withdrawals list and
  the payouts list by status, newest first, without a sort, and the dashboard's sums
  by status from the index alone.
* ``shop_running_days`` / ``shop_running_commissions``: today's figures so far, which
  the sweeper advances a slice at a time (``backend/admin/running_day.py``).
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0014_console_speed"
down_revision = "0011_admin_console"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mariadb").with_variant(
    mysql.DATETIME(fsp=6), "mysql")


def upgrade():
    # Days that have no shop row yet (code of this revision may have rolled some up already).
    op.execute(sa.text(
        "INSERT INTO funnel_paid_daily (day, dim, dim_id, paid_orders) "
        "SELECT p.day, 'shop', 0, SUM(p.paid_orders) FROM funnel_paid_daily p WHERE p.dim = 'product' "
        "AND NOT EXISTS (SELECT 1 FROM funnel_paid_daily s WHERE s.day = p.day AND s.dim = 'shop') "
        "GROUP BY p.day"))
    for table in ("funnel_daily", "funnel_paid_daily"):  # one dimension over a range of days
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f"ix_{table}_dim_day", ["dim", "day"], unique=False)
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.create_index("ix_payouts_kind_id", ["kind", "id"], unique=False)
        batch_op.create_index("ix_payouts_status_id", ["status", "id", "amount_fen"], unique=False)
    op.create_table(
        "shop_running_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("through", UTC_DATETIME, nullable=False),
        sa.Column("gmv_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_orders", sa.Integer(), nullable=False),
        sa.Column("refunded_fen", sa.BigInteger(), nullable=False),
        sa.Column("commission_credited_fen", sa.BigInteger(), nullable=False),
        sa.Column("new_users", sa.Integer(), nullable=False),
        sa.Column("new_distributors", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_shop_running_days")),
    )
    op.create_table(
        "shop_running_commissions",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("commission_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "user_id", name=op.f("pk_shop_running_commissions")),
    )
    with op.batch_alter_table("shop_running_commissions", schema=None) as batch_op:
        batch_op.create_index("ix_shop_running_commissions_day_fen", ["day", "commission_fen"], unique=False)


def downgrade():
    op.drop_table("shop_running_commissions")
    op.drop_table("shop_running_days")
    for table in ("funnel_daily", "funnel_paid_daily"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_dim_day")
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.drop_index("ix_payouts_status_id")
        batch_op.drop_index("ix_payouts_kind_id")
    op.execute(sa.text("DELETE FROM funnel_paid_daily WHERE dim = 'shop'"))
