"""products carry their part's search columns (category, package, brand, dielectric, MPN key)

Search filters and counts facets over products alone for the broad filters: the join to
parts cost 43 ms for a package's 11,000 matches at 100,000 parts (bench/catalog.py).
backend/catalog/search_columns.py keeps the copy; this fills it for the rows there are.

Revision ID: 0028_product_search_columns
Revises: 0027_level_fen_bigint
"""
import sqlalchemy as sa
from alembic import op

revision = "0028_product_search_columns"
down_revision = "0027_level_fen_bigint"
branch_labels = None
depends_on = None

COPIED = {"part_category": "category", "part_package": "package", "part_brand_id": "brand_id",
          "part_dielectric": "dielectric", "part_mpn_key": "mpn_key"}
INCLUDE = ["part_category", "part_package", "part_brand_id", "part_dielectric", "active", "stock"]
INDEXES = {"ix_products_search_category": ["part_category", "part_package"],
           "ix_products_search_package": ["part_package"],
           "ix_products_search_brand": ["part_brand_id", "part_package"],
           "ix_products_search_mpn": ["part_mpn_key"]}


def upgrade():
    # in place, not batch: SQLite cannot rebuild a table other tables reference
    op.add_column("products", sa.Column("part_category", sa.String(32), nullable=True))
    op.add_column("products", sa.Column("part_package", sa.String(64), nullable=True))
    op.add_column("products", sa.Column("part_brand_id", sa.Integer(), nullable=True))
    op.add_column("products", sa.Column("part_dielectric", sa.String(16), nullable=True))
    op.add_column("products", sa.Column("part_mpn_key", sa.String(64), nullable=True))
    # constant column names, no input
    sets = ", ".join(f"{mine} = (SELECT parts.{theirs} FROM parts WHERE parts.id = products.part_id)"  # noqa: S608
                     for mine, theirs in COPIED.items())
    op.execute(f"UPDATE products SET {sets} WHERE part_id IS NOT NULL")  # noqa: S608
    for name, columns in INDEXES.items():
        extra = {"postgresql_include": INCLUDE}
        if name == "ix_products_search_mpn":
            extra["postgresql_ops"] = {"part_mpn_key": "varchar_pattern_ops"}
        op.create_index(name, "products", columns, **extra)


def downgrade():
    for name in INDEXES:
        op.drop_index(name, table_name="products")
    for column in COPIED:
        op.drop_column("products", column)  # SQLite >= 3.35 drops an unindexed column in place
