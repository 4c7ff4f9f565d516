"""substitute groups keep the operator's note with the decision; decided groups list newest first

The group list shows approved and rejected groups by their decision, the latest first
(ix_substitute_groups_status_decided), with who decided and why (decision_note).

Revision ID: 0029_substitute_group_decisions
Revises: 0028_product_search_columns
"""
import sqlalchemy as sa
from alembic import op

revision = "0029_substitute_group_decisions"
down_revision = "0028_product_search_columns"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("substitute_groups", sa.Column("decision_note", sa.String(255), nullable=True))
    op.create_index("ix_substitute_groups_status_decided", "substitute_groups", ["status", "decided_at"])


def downgrade():
    op.drop_index("ix_substitute_groups_status_decided", table_name="substitute_groups")
    # in place, not batch: SQLite cannot rebuild a table other tables reference (>= 3.35 drops it)
    op.drop_column("substitute_groups", "decision_note")
