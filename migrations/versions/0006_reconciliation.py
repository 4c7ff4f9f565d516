"""supplier and customer reconciliation

Revision ID: 0006_reconciliation
Revises: 0005_users_inviter2
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0006_reconciliation"
down_revision = "0005_users_inviter2"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
