"""leaderboard and team read paths

Revision ID: 0008_leaderboard_speed
Revises: 0007_group_invites
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0008_leaderboard_speed"
down_revision = "0007_group_invites"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("commissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("released_at", sa.DateTime(timezone=True).with_variant(
            mysql.DATETIME(fsp=6), "mysql", "mariadb"), nullable=True))
    # Backfill from the release entries of the ledger.
    op.execute(
        "UPDATE commissions SET released_at = (SELECT min(l.created_at) FROM ledger_entries l "
        "WHERE l.commission_id = commissions.id AND l.kind = 'commission_released')"
    )


def downgrade():
    with op.batch_alter_table("commissions", schema=None) as batch_op:
        batch_op.drop_column("released_at")
