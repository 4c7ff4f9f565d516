"""part master: brands and aliases; recon_parts becomes parts, the shop's part too; products.part_id; catalog imports

Revision ID: 0025_part_master
Revises: 0022_targets

``recon_parts`` is renamed ``parts`` in place, so every price, PO line, receipt line and
statement line keeps its part id. Each part gets its normalised keys (``mpn_key``,
``brand_id``; backend/catalog/keys.py). Two reconciliation parts the keys make one
("0603 / FH" and "0603 / Fenghua") are merged into the older one: their rows are
re-pointed to it (a price list that priced both keeps the older part's price, the
only case where a row goes: it said the same thing twice). Every product with a part
number is linked to the part of its (part number, brand), made when missing.
``brands`` is seeded from keys.SEED_ALIASES, one brand per alias key; every other brand
text met becomes a brand of that name.

SQLite cannot tighten or constrain a table other tables reference without copying it
(which the foreign keys refuse), so ``mpn_key`` and ``brand_id`` stay nullable, without a
foreign key, on every database alike; the service always sets them.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from backend.catalog.keys import SEED_ALIASES, brand_key, mpn_key

revision = "0025_part_master"
down_revision = "0022_targets"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
INDEXES = (
    ('uq_parts_mpn_key_brand', ['mpn_key', 'brand_id'], True),
    ('ix_parts_brand', ['brand_id', 'mpn_key'], False),
    ('ix_parts_mlcc', ['category', 'package', 'capacitance_ff', 'voltage_mv'], False),
    ('ix_parts_resistor', ['category', 'package', 'resistance_mohm'], False),
    ('ix_parts_package', ['package', 'category'], False),
)
NEW_COLUMNS = ('mpn_key', 'brand_id', 'category', 'datasheet_url', 'lifecycle', 'capacitance_ff', 'voltage_mv',
               'dielectric', 'tolerance', 'resistance_mohm', 'power_mw')

_meta = sa.MetaData()
brands = sa.Table('brands', _meta, sa.Column('id', sa.Integer, primary_key=True), sa.Column('name', sa.String(64)),
                  sa.Column('created_at', TS))
aliases = sa.Table('brand_aliases', _meta, sa.Column('key', sa.String(100), primary_key=True),
                   sa.Column('alias', sa.String(100)), sa.Column('brand_id', sa.Integer))
parts = sa.Table('parts', _meta, sa.Column('id', sa.Integer, primary_key=True), sa.Column('part_no', sa.String(64)),
                 sa.Column('brand', sa.String(64)), sa.Column('mpn_key', sa.String(64)),
                 sa.Column('brand_id', sa.Integer), sa.Column('package', sa.String(64)),
                 sa.Column('description', sa.String(500)), sa.Column('category', sa.String(32)),
                 sa.Column('lifecycle', sa.String(8)))


def _sequence(old: str, new: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER SEQUENCE IF EXISTS {old}_id_seq RENAME TO {new}_id_seq")


def upgrade():
    op.create_table(
        'brands',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_brands')),
        sa.UniqueConstraint('name', name=op.f('uq_brands_name')),
    )
    op.create_table(
        'brand_aliases',
        sa.Column('key', sa.String(length=100), nullable=False),
        sa.Column('alias', sa.String(length=100), nullable=False),
        sa.Column('brand_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_brand_aliases_brand_id_brands')),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_brand_aliases')),
    )
    op.create_index(op.f('ix_brand_aliases_brand_id'), 'brand_aliases', ['brand_id'])
    op.rename_table('recon_parts', 'parts')
    _sequence('recon_parts', 'parts')
    op.add_column('parts', sa.Column('mpn_key', sa.String(length=64), nullable=True))
    op.add_column('parts', sa.Column('brand_id', sa.Integer(), nullable=True))
    op.add_column('parts', sa.Column('category', sa.String(length=32), server_default='other', nullable=False))
    op.add_column('parts', sa.Column('datasheet_url', sa.String(length=500), nullable=True))
    op.add_column('parts', sa.Column('lifecycle', sa.String(length=8), server_default='active', nullable=False))
    op.add_column('parts', sa.Column('capacitance_ff', sa.BigInteger(), nullable=True))
    op.add_column('parts', sa.Column('voltage_mv', sa.Integer(), nullable=True))
    op.add_column('parts', sa.Column('dielectric', sa.String(length=16), nullable=True))
    op.add_column('parts', sa.Column('tolerance', sa.String(length=16), nullable=True))
    op.add_column('parts', sa.Column('resistance_mohm', sa.BigInteger(), nullable=True))
    op.add_column('parts', sa.Column('power_mw', sa.Integer(), nullable=True))
    op.create_table(
        'part_params',
        sa.Column('part_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('value', sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(['part_id'], ['parts.id'], name=op.f('fk_part_params_part_id_parts')),
        sa.PrimaryKeyConstraint('part_id', 'name', name=op.f('pk_part_params')),
    )
    op.create_index('ix_part_params_value', 'part_params', ['name', 'value'])
    op.add_column('products', sa.Column('part_id', sa.Integer(), nullable=True))
    op.create_index(op.f('ix_products_part_id'), 'products', ['part_id'])
    op.create_table(
        'catalog_imports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('data', sa.LargeBinary().with_variant(mysql.LONGBLOB(), 'mysql', 'mariadb'), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('progress_done', sa.Integer(), nullable=False),
        sa.Column('progress_total', sa.Integer(), nullable=False),
        sa.Column('report', sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql', 'mariadb'), nullable=False),
        sa.Column('error', sa.String(length=500), nullable=False),
        sa.Column('admin_id', sa.Integer(), nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('done_at', TS, nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_imports')),
    )
    _merge(op.get_bind())
    for name, cols, unique in INDEXES:
        extra = {'postgresql_ops': {'mpn_key': 'varchar_pattern_ops'}} if name == 'uq_parts_mpn_key_brand' else {}
        op.create_index(name, 'parts', cols, unique=unique, **extra)


class _Brands:
    """Brand text -> brand id, by alias key, making brands as they are met."""

    def __init__(self, conn):
        self.conn, self.by_key, self.names = conn, {}, {}
        now = sa.func.current_timestamp()
        for canonical, others in SEED_ALIASES.items():
            bid = conn.execute(brands.insert().values(name=canonical, created_at=now)).inserted_primary_key[0]
            self.names[bid] = canonical
            for alias in (canonical, *others):
                if brand_key(alias) not in self.by_key:
                    self.by_key[brand_key(alias)] = bid
                    conn.execute(aliases.insert().values(key=brand_key(alias), alias=alias, brand_id=bid))

    def __call__(self, text: str | None) -> int:
        key = brand_key(text or "")
        if key not in self.by_key:
            name = (text or "").strip()[:64]
            bid = next((b for b, n in self.names.items() if n == name), None)
            if bid is None:
                bid = self.conn.execute(brands.insert().values(
                    name=name, created_at=sa.func.current_timestamp())).inserted_primary_key[0]
                self.names[bid] = name
            self.by_key[key] = bid
            self.conn.execute(aliases.insert().values(key=key, alias=name, brand_id=bid))
        return self.by_key[key]


def _merge(conn) -> None:
    brand_of = _Brands(conn)
    groups: dict[tuple[str, int], list[int]] = {}
    for pid, part_no, brand in conn.execute(sa.text("SELECT id, part_no, brand FROM parts ORDER BY id")):
        groups.setdefault((mpn_key(part_no)[:64], brand_of(brand)), []).append(pid)
    for ids in groups.values():
        for dup in ids[1:]:
            _repoint(conn, dup, ids[0])
    if groups:
        conn.execute(sa.text("UPDATE parts SET mpn_key = :k, brand_id = :b, brand = :n WHERE id = :pid"),
                     [{'pid': ids[0], 'k': k, 'b': b, 'n': brand_of.names[b]} for (k, b), ids in groups.items()])
    links = []
    for product_id, title, brand, part_no in conn.execute(sa.text(
            "SELECT id, title, brand, part_no FROM products WHERE part_no IS NOT NULL ORDER BY id")):
        if not part_no.strip() or len(part_no.strip()) > 64:
            continue  # nothing to key by, or longer than a part number column holds: stays unlinked
        key = (mpn_key(part_no)[:64], brand_of(brand))
        if key not in groups:
            pid = conn.execute(parts.insert().values(
                part_no=part_no.strip(), brand=brand_of.names[key[1]], mpn_key=key[0], brand_id=key[1], package='',
                description=(title or '')[:500], category='other', lifecycle='active')).inserted_primary_key[0]
            groups[key] = [pid]
        links.append({'product': product_id, 'part': groups[key][0]})
    if links:
        conn.execute(sa.text("UPDATE products SET part_id = :part WHERE id = :product"), links)
    # the variance sums copy a part's number and brand: they follow the (merged) part's
    conn.execute(sa.text("UPDATE recon_variance_sums SET brand = (SELECT p.brand FROM parts p"
                         " WHERE p.id = recon_variance_sums.part_id)"))


def _repoint(conn, dup: int, keep: int) -> None:
    """Move every row naming part ``dup`` to part ``keep``, then drop ``dup``."""
    both = {'dup': dup, 'keep': keep}
    kept_lists = {row[0] for row in conn.execute(
        sa.text("SELECT price_list_id FROM recon_prices WHERE part_id = :keep"), both)}
    for list_id, in conn.execute(sa.text("SELECT price_list_id FROM recon_prices WHERE part_id = :dup"), both).all():
        if list_id in kept_lists:
            conn.execute(sa.text("DELETE FROM recon_prices WHERE part_id = :dup AND price_list_id = :l"),
                         {**both, 'l': list_id})
    for table in ('recon_prices', 'recon_po_lines', 'recon_document_lines', 'recon_statement_lines',
                  'recon_statement_line_versions'):
        conn.execute(sa.text(f"UPDATE {table} SET part_id = :keep WHERE part_id = :dup"), both)  # noqa: S608
    for cp, month, count, cents in conn.execute(sa.text(
            "SELECT counterparty_id, month, line_count, diff_cents FROM recon_variance_sums WHERE part_id = :dup"),
            both).all():
        cell = {**both, 'cp': cp, 'm': month, 'n': count, 'c': cents}
        moved = conn.execute(sa.text(
            "UPDATE recon_variance_sums SET line_count = line_count + :n, diff_cents = diff_cents + :c"
            " WHERE counterparty_id = :cp AND part_id = :keep AND month = :m"), cell).rowcount
        if moved:
            conn.execute(sa.text("DELETE FROM recon_variance_sums WHERE counterparty_id = :cp AND part_id = :dup"
                                 " AND month = :m"), cell)
        else:
            conn.execute(sa.text("UPDATE recon_variance_sums SET part_id = :keep WHERE counterparty_id = :cp"
                                 " AND part_id = :dup AND month = :m"), cell)
    conn.execute(sa.text("DELETE FROM parts WHERE id = :dup"), both)


def _drop_column(table: str, column: str) -> None:
    # SQLite (3.35+) drops a column in place: a batch copy would DROP TABLE, which the
    # rows referencing it (foreign keys on) refuse.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    else:
        op.drop_column(table, column)


def downgrade():
    """Back to recon_parts: the parts made for products stay (as reconciliation parts), with
    their brand written the brand's name; the brands go."""
    op.drop_table('catalog_imports')
    op.drop_index(op.f('ix_products_part_id'), table_name='products')
    _drop_column('products', 'part_id')
    op.drop_table('part_params')  # takes its index with it (InnoDB: the foreign key needs it)
    for name, _, _ in INDEXES:
        op.drop_index(name, table_name='parts')
    for column in reversed(NEW_COLUMNS):
        _drop_column('parts', column)
    _sequence('parts', 'recon_parts')
    op.rename_table('parts', 'recon_parts')
    op.drop_table('brand_aliases')
    op.drop_table('brands')
