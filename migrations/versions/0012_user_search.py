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
    # Not in batch mode: on SQLite that would rebuild users, whose DROP TABLE the other
    # tables' foreign keys refuse. SQLite (3.35+) drops a plain column in place.
    for name in ("ix_users_nickname_prefix", "ix_users_status_created", "ix_users_created"):
        op.drop_index(name, table_name="users")
    op.drop_column("users", "distributor_rejection_reason")
