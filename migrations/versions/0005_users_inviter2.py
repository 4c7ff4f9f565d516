"""users.inviter2_id (the inviter's inviter) for level-2 team pages

Revision ID: 0005_users_inviter2
Revises: 0004_mysql_datetime_fsp
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_users_inviter2"
down_revision = "0004_mysql_datetime_fsp"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("inviter2_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_users_inviter2_bound", ["inviter2_id", "bound_at", "id"], unique=False)
    # Backfill from the tree. The derived table lets MySQL read the table it updates.
    op.execute(
        "UPDATE users SET inviter2_id = (SELECT p.inviter_id FROM (SELECT id, inviter_id FROM users) p "
        "WHERE p.id = users.inviter_id) WHERE inviter_id IS NOT NULL"
    )


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_inviter2_bound")
        batch_op.drop_column("inviter2_id")
