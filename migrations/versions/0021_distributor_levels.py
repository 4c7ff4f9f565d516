"""distributor levels: the levels, every change of a distributor's level, the level on users, the rate's source

Revision ID: 0021_distributor_levels
Revises: 0020_return_limits

users.level_id has no foreign key (like inviter2_id): SQLite adds it in place, and the
paid path joins it to the level's rates. commissions.rate_source is NULL for the
commissions written before (their rate_bp says what they know).
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0021_distributor_levels"
down_revision = "0020_return_limits"
branch_labels = None
depends_on = None

# UTC with microseconds everywhere (see backend.extensions.UTCDateTime)
TS = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade():
    op.create_table(
        'distributor_levels',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rank', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('level1_bp', sa.Integer(), nullable=False),
        sa.Column('level2_bp', sa.Integer(), nullable=False),
        sa.Column('window_days', sa.Integer(), nullable=False),
        sa.Column('min_gmv_fen', sa.Integer(), nullable=False),
        sa.Column('min_customers', sa.Integer(), nullable=False),
        sa.Column('min_team_gmv_fen', sa.Integer(), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('updated_at', TS, nullable=False),
        sa.CheckConstraint('rank >= 0', name=op.f('ck_distributor_levels_rank_non_negative')),
        sa.CheckConstraint('level1_bp >= 0 AND level1_bp <= 10000', name=op.f('ck_distributor_levels_level1_bp_range')),
        sa.CheckConstraint('level2_bp >= 0 AND level2_bp <= 10000', name=op.f('ck_distributor_levels_level2_bp_range')),
        sa.CheckConstraint('window_days >= 1', name=op.f('ck_distributor_levels_window_positive')),
        sa.CheckConstraint('min_gmv_fen >= 0 AND min_customers >= 0 AND min_team_gmv_fen >= 0',
                           name=op.f('ck_distributor_levels_conditions_non_negative')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_distributor_levels')),
        sa.UniqueConstraint('name', name=op.f('uq_distributor_levels_name')),
        sa.UniqueConstraint('rank', name=op.f('uq_distributor_levels_rank')),
    )
    op.create_table(
        'distributor_level_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('from_level_id', sa.Integer(), nullable=True),
        sa.Column('to_level_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.String(length=16), nullable=False),
        sa.Column('gmv_fen', sa.Integer(), nullable=False),
        sa.Column('customers', sa.Integer(), nullable=False),
        sa.Column('team_gmv_fen', sa.Integer(), nullable=False),
        sa.Column('window_days', sa.Integer(), nullable=False),
        sa.Column('period', sa.String(length=7), nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.ForeignKeyConstraint(['from_level_id'], ['distributor_levels.id'],
                                name=op.f('fk_distributor_level_changes_from_level_id_distributor_levels')),
        sa.ForeignKeyConstraint(['to_level_id'], ['distributor_levels.id'],
                                name=op.f('fk_distributor_level_changes_to_level_id_distributor_levels')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_distributor_level_changes_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_distributor_level_changes')),
    )
    op.create_index('ix_distributor_level_changes_user', 'distributor_level_changes', ['user_id', 'id'])
    op.add_column('users', sa.Column('level_id', sa.Integer(), nullable=True))
    op.add_column('users', sa.Column('level_missed_periods', sa.Integer(), server_default='0', nullable=False))
    op.add_column('users', sa.Column('level_checked_period', sa.String(length=7), nullable=True))
    op.add_column('commissions', sa.Column('rate_source', sa.String(length=48), nullable=True))


def _drop_column(table: str, column: str) -> None:
    # SQLite (3.35+) drops a column in place: a batch copy would DROP TABLE the users,
    # which the rows referencing them (foreign keys on) refuse.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    else:
        op.drop_column(table, column)


def downgrade():
    _drop_column('commissions', 'rate_source')
    _drop_column('users', 'level_checked_period')
    _drop_column('users', 'level_missed_periods')
    _drop_column('users', 'level_id')
    # The table takes its index with it: dropped first, InnoDB refuses it (the user_id
    # foreign key relies on it).
    op.drop_table('distributor_level_changes')
    op.drop_table('distributor_levels')
