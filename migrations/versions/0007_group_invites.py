"""group-invite funnels

Revision ID: 0007_group_invites
Revises: 0006_reconciliation
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0007_group_invites"
down_revision = "0006_reconciliation"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
