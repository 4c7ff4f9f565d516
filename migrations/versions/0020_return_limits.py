"""returns limited to what was received: a receipt line's returned quantity, a return line's receipt line

Revision ID: 0020_return_limits
Revises: 0019_variance_sums

recon_document_lines.returned_qty (receipt lines: returned so far, 0 for every existing
line: earlier returns named no receipt line) and return_of_line_id (return lines: the
receipt line returned; NULL for the existing ones). Both are unindexed, so PostgreSQL's
in-place (heap-only) updates of re-pricing still apply; the column default makes adding
returned_qty a catalogue change there, not a rewrite of the lines.
"""
import sqlalchemy as sa
from alembic import op

revision = "0020_return_limits"
down_revision = "0019_variance_sums"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('recon_document_lines',
                  sa.Column('returned_qty', sa.Integer(), server_default='0', nullable=False))
    op.add_column('recon_document_lines', sa.Column('return_of_line_id', sa.BigInteger(), nullable=True))


def _drop_column(table: str, column: str) -> None:
    # SQLite (3.35+) drops a column in place: a batch copy would DROP TABLE the lines,
    # which the rows referencing them (foreign keys on) refuse.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    else:
        op.drop_column(table, column)


def downgrade():
    _drop_column('recon_document_lines', 'return_of_line_id')
    _drop_column('recon_document_lines', 'returned_qty')
