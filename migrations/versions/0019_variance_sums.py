"""the price-variance report's sums per supplier, part and month, backfilled from the lines

Revision ID: 0019_variance_sums
Revises: 0018_invite_way_claims

recon_variance_sums holds, per (supplier, part, month YYYYMM) with the part's number and
brand, how many document lines
have a PO price and an applied price that differs from it, and the sum of their amount
minus their amount at the PO price (integer cents, rounded per line as the report does).
The writers of lines keep it from now on (backend/reconciliation/variance_sums.py).
"""
import sqlalchemy as sa
from alembic import op

revision = "0019_variance_sums"
down_revision = "0018_invite_way_claims"
branch_labels = None
depends_on = None

# The same SQL as variance_sums.month_key and money.amount_cents_sql, written out: a
# migration does not import the application's code, which moves on.
_MONTH = {
    "postgresql": "CAST(EXTRACT(YEAR FROM doc_date) * 100 + EXTRACT(MONTH FROM doc_date) AS INTEGER)",
    "mysql": "EXTRACT(YEAR_MONTH FROM doc_date)",
    "sqlite": "CAST(strftime('%Y%m', doc_date) AS INTEGER)",
}
_PO_CENTS = {
    "postgresql": "CAST(ROUND(qty * po_price * 100) AS BIGINT)",
    "mysql": "CAST(ROUND(qty * po_price * 100) AS SIGNED)",
    "sqlite": ("((qty) * CAST(ROUND((po_price) * 1000000) AS INTEGER)"
               " + CASE WHEN (qty) < 0 THEN -5000 ELSE 5000 END) / 10000"),
}


def upgrade():
    op.create_table('recon_variance_sums',
    sa.Column('counterparty_id', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Integer(), nullable=False),
    sa.Column('part_no', sa.String(length=64), nullable=False),
    sa.Column('brand', sa.String(length=64), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('diff_cents', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('counterparty_id', 'part_id', 'month', name=op.f('pk_recon_variance_sums'))
    )
    with op.batch_alter_table('recon_variance_sums', schema=None) as batch_op:
        batch_op.create_index('ix_recon_variance_sums_part', ['part_id', 'month'], unique=False)
    dialect = op.get_bind().dialect.name
    dialect = "mysql" if dialect == "mariadb" else dialect
    month, po_cents = _MONTH[dialect], _PO_CENTS[dialect]
    op.execute(  # noqa: S608 - constants
        "INSERT INTO recon_variance_sums (counterparty_id, part_id, month, part_no, brand, line_count, diff_cents)"
        " SELECT c.counterparty_id, c.part_id, c.month, p.part_no, p.brand, c.n, c.diff_cents FROM"
        f" (SELECT counterparty_id, part_id, {month} AS month, COUNT(*) AS n,"
        f" SUM(amount_cents - {po_cents}) AS diff_cents"
        " FROM recon_document_lines WHERE po_price IS NOT NULL AND price_diff <> 0"
        f" GROUP BY counterparty_id, part_id, {month}) c JOIN recon_parts p ON p.id = c.part_id")


def downgrade():
    with op.batch_alter_table('recon_variance_sums', schema=None) as batch_op:
        batch_op.drop_index('ix_recon_variance_sums_part')
    op.drop_table('recon_variance_sums')
