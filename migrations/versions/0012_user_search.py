"""indexes for the operators' user list; the reason of a rejected distributor application

Revision ID: 0012_user_search
Revises: 0010_cutoff_defaults
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_user_search"
down_revision = "0010_cutoff_defaults"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("distributor_rejection_reason", sa.String(length=255), nullable=True))
        batch_op.create_index("ix_users_created", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_users_status_created", ["distributor_status", "created_at", "id"], unique=False)
        batch_op.create_index("ix_users_nickname_prefix", ["nickname"], unique=False,
                              postgresql_ops={"nickname": "varchar_pattern_ops"})


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_nickname_prefix")
        batch_op.drop_index("ix_users_status_created")
        batch_op.drop_index("ix_users_created")
        batch_op.drop_column("distributor_rejection_reason")
