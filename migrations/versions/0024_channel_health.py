"""channel health: the nightly snapshot per distributor, the freezes, the operators' actions

Revision ID: 0024_channel_health
Revises: 0023_risk
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0024_channel_health"
down_revision = "0023_risk"
branch_labels = None
depends_on = None

# UTC with microseconds everywhere (see backend.extensions.UTCDateTime)
TS = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade():
    op.create_table(
        'channel_health',
        sa.Column('user_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last_sale_at', TS, nullable=True),
        sa.Column('gmv_30d_fen', sa.BigInteger(), nullable=False),
        sa.Column('gmv_prev_30d_fen', sa.BigInteger(), nullable=False),
        sa.Column('gmv_90d_fen', sa.BigInteger(), nullable=False),
        sa.Column('paid_90d_fen', sa.BigInteger(), nullable=False),
        sa.Column('refunded_90d_fen', sa.BigInteger(), nullable=False),
        sa.Column('shares_30d', sa.Integer(), nullable=False),
        sa.Column('visits_30d', sa.Integer(), nullable=False),
        sa.Column('share_orders_30d', sa.Integer(), nullable=False),
        sa.Column('team_level1', sa.Integer(), nullable=False),
        sa.Column('team_level2', sa.Integer(), nullable=False),
        sa.Column('team_buyers_30d', sa.Integer(), nullable=False),
        sa.Column('computed_at', TS, nullable=False),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_channel_health')),
    )
    op.create_index('ix_channel_health_last_sale', 'channel_health', ['last_sale_at', 'user_id'])
    op.create_table(
        'channel_freezes',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=255), nullable=False),
        sa.Column('operator_id', sa.Integer(), nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_channel_freezes_user_id_users')),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_channel_freezes')),
    )
    op.create_table(
        'channel_actions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.String(length=255), nullable=False),
        sa.Column('operator_id', sa.Integer(), nullable=True),
        sa.Column('released_bindings', sa.Integer(), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_channel_actions_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_actions')),
    )
    op.create_index('ix_channel_actions_user', 'channel_actions', ['user_id', 'id'])


def downgrade():
    # Each table takes its indexes with it (InnoDB refuses dropping an index a foreign key needs).
    op.drop_table('channel_actions')
    op.drop_table('channel_freezes')
    op.drop_index('ix_channel_health_last_sale', table_name='channel_health')
    op.drop_table('channel_health')
