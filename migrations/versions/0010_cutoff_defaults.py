"""counterparties created without a cut-off get their cycle's documented default

Revision ID: 0010_cutoff_defaults
Revises: 0009_refund_order_flips
"""
from alembic import op

revision = "0010_cutoff_defaults"
down_revision = "0009_refund_order_flips"
branch_labels = None
depends_on = None


def upgrade():
    # Before, a weekly or semi-monthly counterparty created without a cut-off stored 0,
    # which the billing periods read as Sunday / the 15th but the API showed as 0. The
    # periods are the same either way: only what is stored (and shown) changes.
    op.execute("UPDATE recon_counterparties SET cutoff_day = 7 WHERE billing_cycle = 'weekly' AND cutoff_day = 0")
    op.execute("UPDATE recon_counterparties SET cutoff_day = 15 "
               "WHERE billing_cycle = 'semi_monthly' AND cutoff_day = 0")


def downgrade():
    pass  # 7 and 15 bill exactly as 0 did for these cycles: nothing to undo
