"""the finance console's price and purchase pages: indexes for their first screens

Revision ID: 0015_finance_console
Revises: 0014_console_speed

* ix_recon_prices_part: one part's price history across every supplier (the lookup
  index leads with the supplier, so without this the history scans every price);
* ix_recon_purchase_orders_date: the PO list, newest first, a page at a time;
* ix_recon_documents_po_id: a PO's receipts on its detail page;
* ix_recon_document_lines_day: the price-variance report over a date range for all
  suppliers (the open-lines index leads with the counterparty).
"""
from alembic import op

revision = '0015_finance_console'
down_revision = "0014_console_speed"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('recon_prices', schema=None) as batch_op:
        batch_op.create_index('ix_recon_prices_part', ['part_id', 'supplier_id'], unique=False)
    with op.batch_alter_table('recon_purchase_orders', schema=None) as batch_op:
        batch_op.create_index('ix_recon_purchase_orders_date', ['order_date', 'id'], unique=False)
    with op.batch_alter_table('recon_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recon_documents_po_id'), ['po_id'], unique=False)
    with op.batch_alter_table('recon_document_lines', schema=None) as batch_op:
        batch_op.create_index('ix_recon_document_lines_day', ['doc_date'], unique=False)


def downgrade():
    with op.batch_alter_table('recon_document_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_recon_document_lines_day')
    _drop_key_index("recon_documents", "ix_recon_documents_po_id", "po_id", "recon_purchase_orders")
    with op.batch_alter_table('recon_purchase_orders', schema=None) as batch_op:
        batch_op.drop_index('ix_recon_purchase_orders_date')
    _drop_key_index("recon_prices", "ix_recon_prices_part", "part_id", "recon_parts")


def _drop_key_index(table: str, index: str, column: str, referred: str) -> None:
    """Drop an index that leads with a foreign key's column. InnoDB dropped the index it
    had made for the key once ours could serve it, and refuses to drop ours while the key
    needs it: there, drop the key, our index, and add the key back (InnoDB makes its own
    index again, as before the upgrade)."""
    if op.get_bind().dialect.name in ("mysql", "mariadb"):
        key = f"fk_{table}_{column}_{referred}"
        op.drop_constraint(key, table, type_="foreignkey")
        op.drop_index(index, table_name=table)
        op.create_foreign_key(key, table, referred, [column], ["id"])
    else:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(index)
