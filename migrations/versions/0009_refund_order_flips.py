"""refunds record what they did to the order being fully refunded

Revision ID: 0009_refund_order_flips
Revises: 0008_leaderboard_speed
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_refund_order_flips"
down_revision = "0008_leaderboard_speed"
branch_labels = None
depends_on = None


def upgrade():
    # NULL for the refunds made before: the leaderboards judge those as they did.
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("completed_order", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("reopened_order", sa.Boolean(), nullable=True))


def downgrade():
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_column("reopened_order")
        batch_op.drop_column("completed_order")
