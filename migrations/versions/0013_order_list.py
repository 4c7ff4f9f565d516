"""indexes of the operators' order list

Revision ID: 0013_order_list
Revises: 0012_user_search

Newest first by each filter, in the list's own order (created_at, id) so no sort
is needed: (status, ...), (user_id, ...), (level1_id, ...), and (created_at, id) for
the unfiltered list (paid_at has its index since 0007_group_invites). The composites
on user_id and level1_id replace their single-column indexes (a leading column
serves the same lookups and the foreign keys).
"""
from alembic import op

revision = "0013_order_list"
down_revision = "0012_user_search"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_created_at", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_orders_status_created", ["status", "created_at", "id"], unique=False)
        batch_op.create_index("ix_orders_user_created", ["user_id", "created_at", "id"], unique=False)
        batch_op.create_index("ix_orders_level1_created", ["level1_id", "created_at", "id"], unique=False)
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_user_id")
        batch_op.drop_index("ix_orders_level1_id")


def downgrade():
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_user_id", ["user_id"], unique=False)
        batch_op.create_index("ix_orders_level1_id", ["level1_id"], unique=False)
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_level1_created")
        batch_op.drop_index("ix_orders_user_created")
        batch_op.drop_index("ix_orders_status_created")
        batch_op.drop_index("ix_orders_created_at")
