"""the console's first screens at a million users

Revision ID: 0014_console_speed
Revises: 0011_admin_console

* ``funnel_paid_daily`` gains a whole-shop row a day (dim ``shop``, dim_id 0): the
  funnel by day (and the dashboard's group join rate) read 30 rows for a month instead
  of a row per distributor per day. Days already rolled up get theirs from the product
  rows (every paid order is in exactly one of them, 0 for an order without lines).
* ``payouts`` gets (kind, id) and (status, id): the withdrawals list and the payouts
  list by status, newest first, without a sort.
"""
import sqlalchemy as sa
from alembic import op

revision = "0014_console_speed"
down_revision = "0011_admin_console"
branch_labels = None
depends_on = None


def upgrade():
    op.execute(sa.text(
        "INSERT INTO funnel_paid_daily (day, dim, dim_id, paid_orders) "
        "SELECT day, 'shop', 0, SUM(paid_orders) FROM funnel_paid_daily WHERE dim = 'product' GROUP BY day"))
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.create_index("ix_payouts_kind_id", ["kind", "id"], unique=False)
        batch_op.create_index("ix_payouts_status_id", ["status", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.drop_index("ix_payouts_status_id")
        batch_op.drop_index("ix_payouts_kind_id")
    op.execute(sa.text("DELETE FROM funnel_paid_daily WHERE dim = 'shop'"))
