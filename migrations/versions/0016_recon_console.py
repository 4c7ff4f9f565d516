"""resolved differences of a counterparty's own statement (finance console)

Revision ID: 0016_recon_console
Revises: 0015_finance_console

One row per difference (only theirs, only ours, quantity, price) of a statement
version that finance marked resolved, with the note. The statement runs list is
ordered newest first by the primary key (no index needed).

The statement lines' index on (statement_id, doc_date) gains document_line_id, the
lines page's tie-breaker: the first page of a 100,000-line statement was a sort of the
lines of its first day (a few days hold all of them), now it is an index range.
"""
import sqlalchemy as sa
from alembic import op

from backend.extensions import UTCDateTime

revision = "0016_recon_console"
down_revision = "0015_finance_console"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('recon_diff_resolutions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('ref', sa.String(length=200), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('admin_id', sa.Integer(), nullable=True),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.ForeignKeyConstraint(['statement_id'], ['recon_statements.id'], name=op.f('fk_recon_diff_resolutions_statement_id_recon_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_diff_resolutions')),
    sa.UniqueConstraint('statement_id', 'version', 'kind', 'ref', name='uq_recon_diff_resolutions')
    )
    with op.batch_alter_table('recon_statement_lines', schema=None) as batch_op:
        batch_op.create_index('ix_recon_statement_lines_page', ['statement_id', 'doc_date', 'document_line_id'],
                              unique=False)
        batch_op.drop_index('ix_recon_statement_lines_statement')


def downgrade():
    with op.batch_alter_table('recon_statement_lines', schema=None) as batch_op:
        batch_op.create_index('ix_recon_statement_lines_statement', ['statement_id', 'doc_date'], unique=False)
        batch_op.drop_index('ix_recon_statement_lines_page')
    op.drop_table('recon_diff_resolutions')
