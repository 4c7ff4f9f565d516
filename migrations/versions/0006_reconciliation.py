"""supplier and customer reconciliation

Revision ID: 0006_reconciliation
Revises: 0005_users_inviter2
"""
import sqlalchemy as sa
from alembic import op

from backend.extensions import UTCDateTime

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only

revision = "0006_reconciliation"
down_revision = "0005_users_inviter2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('recon_counterparties',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('billing_cycle', sa.String(length=16), nullable=False),
    sa.Column('cutoff_day', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('email', sa.String(length=500), nullable=False),
    sa.Column('qty_tolerance', sa.Integer(), nullable=False),
    sa.Column('price_tolerance', sa.Numeric(precision=18, scale=6), nullable=False),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_counterparties')),
    sa.UniqueConstraint('code', name=op.f('uq_recon_counterparties_code'))
    )
    with op.batch_alter_table('recon_counterparties', schema=None) as batch_op:
        batch_op.create_index('ix_recon_counterparties_cycle', ['kind', 'billing_cycle', 'cutoff_day'], unique=False)

    op.create_table('recon_parts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('part_no', sa.String(length=64), nullable=False),
    sa.Column('brand', sa.String(length=64), nullable=False),
    sa.Column('package', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_parts')),
    sa.UniqueConstraint('part_no', 'brand', name='uq_recon_parts_part_no_brand')
    )
    op.create_table('recon_statement_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('side', sa.String(length=16), nullable=False),
    sa.Column('cycle', sa.String(length=16), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('progress_done', sa.Integer(), nullable=False),
    sa.Column('progress_total', sa.Integer(), nullable=False),
    sa.Column('statements', sa.Integer(), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=False),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.Column('generated_at', UTCDateTime, nullable=True),
    sa.Column('done_at', UTCDateTime, nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_statement_runs')),
    sa.UniqueConstraint('side', 'cycle', 'month', name='uq_recon_statement_runs_side_cycle_month')
    )
    op.create_table('recon_price_lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('effective_date', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.ForeignKeyConstraint(['supplier_id'], ['recon_counterparties.id'], name=op.f('fk_recon_price_lists_supplier_id_recon_counterparties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_price_lists')),
    sa.UniqueConstraint('supplier_id', 'version', name='uq_recon_price_lists_supplier_version')
    )
    op.create_table('recon_purchase_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('order_date', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.ForeignKeyConstraint(['supplier_id'], ['recon_counterparties.id'], name=op.f('fk_recon_purchase_orders_supplier_id_recon_counterparties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_purchase_orders')),
    sa.UniqueConstraint('number', name=op.f('uq_recon_purchase_orders_number'))
    )
    with op.batch_alter_table('recon_purchase_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recon_purchase_orders_supplier_id'), ['supplier_id'], unique=False)

    op.create_table('recon_statements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=80), nullable=False),
    sa.Column('live', sa.Integer(), nullable=True),
    sa.Column('side', sa.String(length=16), nullable=False),
    sa.Column('counterparty_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.Column('updated_at', UTCDateTime, nullable=False),
    sa.ForeignKeyConstraint(['counterparty_id'], ['recon_counterparties.id'], name=op.f('fk_recon_statements_counterparty_id_recon_counterparties')),
    sa.ForeignKeyConstraint(['run_id'], ['recon_statement_runs.id'], name=op.f('fk_recon_statements_run_id_recon_statement_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_statements')),
    sa.UniqueConstraint('number', 'live', name='uq_recon_statements_number_live')
    )
    with op.batch_alter_table('recon_statements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recon_statements_counterparty_id'), ['counterparty_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recon_statements_run_id'), ['run_id'], unique=False)

    op.create_table('recon_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('counterparty_id', sa.Integer(), nullable=False),
    sa.Column('po_id', sa.Integer(), nullable=True),
    sa.Column('doc_date', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('pricing_policy', sa.String(length=16), nullable=False),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.ForeignKeyConstraint(['counterparty_id'], ['recon_counterparties.id'], name=op.f('fk_recon_documents_counterparty_id_recon_counterparties')),
    sa.ForeignKeyConstraint(['po_id'], ['recon_purchase_orders.id'], name=op.f('fk_recon_documents_po_id_recon_purchase_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_documents')),
    sa.UniqueConstraint('number', name=op.f('uq_recon_documents_number'))
    )
    with op.batch_alter_table('recon_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recon_documents_counterparty_id'), ['counterparty_id'], unique=False)

    op.create_table('recon_po_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('po_id', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('received_qty', sa.Integer(), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=6), nullable=False),
    sa.ForeignKeyConstraint(['part_id'], ['recon_parts.id'], name=op.f('fk_recon_po_lines_part_id_recon_parts')),
    sa.ForeignKeyConstraint(['po_id'], ['recon_purchase_orders.id'], name=op.f('fk_recon_po_lines_po_id_recon_purchase_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_po_lines'))
    )
    with op.batch_alter_table('recon_po_lines', schema=None) as batch_op:
        batch_op.create_index('ix_recon_po_lines_part', ['part_id', 'po_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recon_po_lines_po_id'), ['po_id'], unique=False)

    op.create_table('recon_prices',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('price_list_id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('effective_date', sa.Date(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=6), nullable=False),
    sa.ForeignKeyConstraint(['part_id'], ['recon_parts.id'], name=op.f('fk_recon_prices_part_id_recon_parts')),
    sa.ForeignKeyConstraint(['price_list_id'], ['recon_price_lists.id'], name=op.f('fk_recon_prices_price_list_id_recon_price_lists')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_prices')),
    sa.UniqueConstraint('price_list_id', 'part_id', name='uq_recon_prices_list_part')
    )
    with op.batch_alter_table('recon_prices', schema=None) as batch_op:
        batch_op.create_index('ix_recon_prices_lookup', ['supplier_id', 'part_id', 'effective_date', 'version'], unique=False)

    op.create_table('recon_statement_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('document_line_id', sa.BigInteger(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('admin_id', sa.Integer(), nullable=True),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.ForeignKeyConstraint(['statement_id'], ['recon_statements.id'], name=op.f('fk_recon_statement_events_statement_id_recon_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_statement_events'))
    )
    with op.batch_alter_table('recon_statement_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recon_statement_events_statement_id'), ['statement_id'], unique=False)

    op.create_table('recon_statement_exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('fmt', sa.String(length=8), nullable=False),
    sa.Column('counterparty_id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', UTCDateTime, nullable=False),
    sa.ForeignKeyConstraint(['statement_id'], ['recon_statements.id'], name=op.f('fk_recon_statement_exports_statement_id_recon_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_statement_exports'))
    )
    with op.batch_alter_table('recon_statement_exports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recon_statement_exports_statement_id'), ['statement_id'], unique=False)

    op.create_table('recon_statement_line_versions',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('document_line_id', sa.BigInteger(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('doc_date', sa.Date(), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=6), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['statement_id'], ['recon_statements.id'], name=op.f('fk_recon_statement_line_versions_statement_id_recon_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_statement_line_versions')),
    sa.UniqueConstraint('statement_id', 'version', 'document_line_id', name='uq_recon_statement_line_versions')
    )
    op.create_table('recon_statement_lines',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('document_line_id', sa.BigInteger(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('doc_date', sa.Date(), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=6), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['statement_id'], ['recon_statements.id'], name=op.f('fk_recon_statement_lines_statement_id_recon_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_statement_lines')),
    sa.UniqueConstraint('document_line_id', name='uq_recon_statement_lines_document_line')
    )
    with op.batch_alter_table('recon_statement_lines', schema=None) as batch_op:
        batch_op.create_index('ix_recon_statement_lines_statement', ['statement_id', 'doc_date'], unique=False)

    op.create_table('recon_statement_totals',
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['statement_id'], ['recon_statements.id'], name=op.f('fk_recon_statement_totals_statement_id_recon_statements')),
    sa.PrimaryKeyConstraint('statement_id', 'version', 'currency', name=op.f('pk_recon_statement_totals'))
    )
    op.create_table('recon_document_lines',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('counterparty_id', sa.Integer(), nullable=False),
    sa.Column('doc_date', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('po_line_id', sa.Integer(), nullable=True),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('po_price', sa.Numeric(precision=18, scale=6), nullable=True),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=6), nullable=False),
    sa.Column('price_diff', sa.Numeric(precision=18, scale=6), nullable=False),
    sa.Column('price_source', sa.String(length=16), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['recon_documents.id'], name=op.f('fk_recon_document_lines_document_id_recon_documents')),
    sa.ForeignKeyConstraint(['part_id'], ['recon_parts.id'], name=op.f('fk_recon_document_lines_part_id_recon_parts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_document_lines'))
    )
    with op.batch_alter_table('recon_document_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recon_document_lines_document_id'), ['document_id'], unique=False)
        batch_op.create_index('ix_recon_document_lines_open', ['counterparty_id', 'doc_date'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # half of each page free: re-pricing rewrites unindexed columns only, as heap-only updates
        op.execute("ALTER TABLE recon_document_lines SET (fillfactor = 50)")

    op.create_table('recon_mail_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('export_id', sa.Integer(), nullable=True),
    sa.Column('counterparty_id', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=False),
    sa.Column('sent_at', UTCDateTime, nullable=True),
    sa.Column('updated_at', UTCDateTime, nullable=False),
    sa.ForeignKeyConstraint(['export_id'], ['recon_statement_exports.id'], name=op.f('fk_recon_mail_log_export_id_recon_statement_exports')),
    sa.ForeignKeyConstraint(['run_id'], ['recon_statement_runs.id'], name=op.f('fk_recon_mail_log_run_id_recon_statement_runs')),
    sa.ForeignKeyConstraint(['statement_id'], ['recon_statements.id'], name=op.f('fk_recon_mail_log_statement_id_recon_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recon_mail_log')),
    sa.UniqueConstraint('statement_id', 'version', 'recipient', name='uq_recon_mail_log_statement_recipient')
    )
    with op.batch_alter_table('recon_mail_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recon_mail_log_run_id'), ['run_id'], unique=False)


def downgrade():
    with op.batch_alter_table('recon_mail_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recon_mail_log_run_id'))

    op.drop_table('recon_mail_log')
    with op.batch_alter_table('recon_document_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_recon_document_lines_open')
        batch_op.drop_index(batch_op.f('ix_recon_document_lines_document_id'))

    op.drop_table('recon_document_lines')
    op.drop_table('recon_statement_totals')
    with op.batch_alter_table('recon_statement_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_recon_statement_lines_statement')

    op.drop_table('recon_statement_lines')
    op.drop_table('recon_statement_line_versions')
    with op.batch_alter_table('recon_statement_exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recon_statement_exports_statement_id'))

    op.drop_table('recon_statement_exports')
    with op.batch_alter_table('recon_statement_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recon_statement_events_statement_id'))

    op.drop_table('recon_statement_events')
    with op.batch_alter_table('recon_prices', schema=None) as batch_op:
        batch_op.drop_index('ix_recon_prices_lookup')

    op.drop_table('recon_prices')
    with op.batch_alter_table('recon_po_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recon_po_lines_po_id'))
        batch_op.drop_index('ix_recon_po_lines_part')

    op.drop_table('recon_po_lines')
    with op.batch_alter_table('recon_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recon_documents_counterparty_id'))

    op.drop_table('recon_documents')
    with op.batch_alter_table('recon_statements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recon_statements_run_id'))
        batch_op.drop_index(batch_op.f('ix_recon_statements_counterparty_id'))

    op.drop_table('recon_statements')
    with op.batch_alter_table('recon_purchase_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recon_purchase_orders_supplier_id'))

    op.drop_table('recon_purchase_orders')
    op.drop_table('recon_price_lists')
    op.drop_table('recon_statement_runs')
    op.drop_table('recon_parts')
    with op.batch_alter_table('recon_counterparties', schema=None) as batch_op:
        batch_op.drop_index('ix_recon_counterparties_cycle')

    op.drop_table('recon_counterparties')
