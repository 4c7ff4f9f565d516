"""leaderboard and team read paths

Revision ID: 0008_leaderboard_speed
Revises: 0007_group_invites
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0008_leaderboard_speed"
down_revision = "0007_group_invites"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
