"""substitutes: spec groups, directed links, customer brand rules, the accepted/refused memory; order lines keep the part they replace

Revision ID: 0026_substitutes
Revises: 0025_part_master
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0026_substitutes"
down_revision = "0025_part_master"
branch_labels = None
depends_on = None

# UTC with microseconds everywhere (see backend.extensions.UTCDateTime)
TS = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade():
    op.create_table(
        'substitute_groups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('spec', sa.String(length=200), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=False),
        sa.Column('package', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('decided_by', sa.Integer(), nullable=True),
        sa.Column('decided_at', TS, nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_substitute_groups')),
        sa.UniqueConstraint('spec', name=op.f('uq_substitute_groups_spec')),
    )
    op.create_index('ix_substitute_groups_status_id', 'substitute_groups', ['status', 'id'])
    op.create_table(
        'substitute_group_parts',
        sa.Column('part_id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['group_id'], ['substitute_groups.id'],
                                name=op.f('fk_substitute_group_parts_group_id_substitute_groups')),
        sa.ForeignKeyConstraint(['part_id'], ['parts.id'], name=op.f('fk_substitute_group_parts_part_id_parts')),
        sa.PrimaryKeyConstraint('part_id', name=op.f('pk_substitute_group_parts')),
    )
    op.create_index(op.f('ix_substitute_group_parts_group_id'), 'substitute_group_parts', ['group_id'])
    op.create_table(
        'substitute_links',
        sa.Column('part_id', sa.Integer(), nullable=False),
        sa.Column('substitute_part_id', sa.Integer(), nullable=False),
        sa.Column('allowed', sa.Boolean(), nullable=False),
        sa.Column('source', sa.String(length=8), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=True),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.ForeignKeyConstraint(['part_id'], ['parts.id'], name=op.f('fk_substitute_links_part_id_parts')),
        sa.ForeignKeyConstraint(['substitute_part_id'], ['parts.id'],
                                name=op.f('fk_substitute_links_substitute_part_id_parts')),
        sa.PrimaryKeyConstraint('part_id', 'substitute_part_id', name=op.f('pk_substitute_links')),
    )
    op.create_table(
        'customer_brand_rules',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('brand_id', sa.Integer(), nullable=False),
        sa.Column('rule', sa.String(length=8), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.ForeignKeyConstraint(['brand_id'], ['brands.id'], name=op.f('fk_customer_brand_rules_brand_id_brands')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_customer_brand_rules_user_id_users')),
        sa.PrimaryKeyConstraint('user_id', 'brand_id', name=op.f('pk_customer_brand_rules')),
    )
    op.create_table(
        'substitute_memory',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('part_id', sa.Integer(), nullable=False),
        sa.Column('substitute_part_id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=True),
        sa.Column('accepted_at', TS, nullable=False),
        sa.ForeignKeyConstraint(['part_id'], ['parts.id'], name=op.f('fk_substitute_memory_part_id_parts')),
        sa.ForeignKeyConstraint(['substitute_part_id'], ['parts.id'],
                                name=op.f('fk_substitute_memory_substitute_part_id_parts')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_substitute_memory_user_id_users')),
        sa.PrimaryKeyConstraint('user_id', 'part_id', name=op.f('pk_substitute_memory')),
    )
    op.create_table(
        'substitute_refusals',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('part_id', sa.Integer(), nullable=False),
        sa.Column('substitute_part_id', sa.Integer(), nullable=False),
        sa.Column('refused_at', TS, nullable=False),
        sa.ForeignKeyConstraint(['part_id'], ['parts.id'], name=op.f('fk_substitute_refusals_part_id_parts')),
        sa.ForeignKeyConstraint(['substitute_part_id'], ['parts.id'],
                                name=op.f('fk_substitute_refusals_substitute_part_id_parts')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_substitute_refusals_user_id_users')),
        sa.PrimaryKeyConstraint('user_id', 'part_id', 'substitute_part_id', name=op.f('pk_substitute_refusals')),
    )
    op.add_column('order_items', sa.Column('substitute_for_product_id', sa.Integer(), nullable=True))
    op.add_column('order_items', sa.Column('substitute_accepted_by', sa.Integer(), nullable=True))
    op.add_column('order_items', sa.Column('substitute_accepted_at', TS, nullable=True))


def _drop_column(table: str, column: str) -> None:
    # SQLite (3.35+) drops a column in place: a batch copy would DROP TABLE, which the
    # rows referencing it (foreign keys on) refuse.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    else:
        op.drop_column(table, column)


def downgrade():
    for column in ('substitute_accepted_at', 'substitute_accepted_by', 'substitute_for_product_id'):
        _drop_column('order_items', column)
    for table in ('substitute_refusals', 'substitute_memory', 'customer_brand_rules', 'substitute_links',
                  'substitute_group_parts', 'substitute_groups'):
        op.drop_table(table)
