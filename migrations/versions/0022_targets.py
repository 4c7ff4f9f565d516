"""monthly targets: plans, the close of each month, each distributor's bonus

Revision ID: 0022_targets
Revises: 0021_distributor_levels
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0022_targets"
down_revision = "0021_distributor_levels"
branch_labels = None
depends_on = None

# UTC with microseconds everywhere (see backend.extensions.UTCDateTime)
TS = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade():
    op.create_table(
        'target_plans',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('level_id', sa.Integer(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('period_key', sa.String(length=7), nullable=True),
        sa.Column('target_fen', sa.BigInteger(), nullable=False),
        sa.Column('tiers', sa.JSON(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('updated_at', TS, nullable=False),
        sa.CheckConstraint('(level_id IS NULL) <> (user_id IS NULL)', name=op.f('ck_target_plans_one_scope')),
        sa.CheckConstraint('target_fen > 0', name=op.f('ck_target_plans_target_positive')),
        sa.ForeignKeyConstraint(['level_id'], ['distributor_levels.id'],
                                name=op.f('fk_target_plans_level_id_distributor_levels')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_target_plans_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_target_plans')),
    )
    op.create_index(op.f('ix_target_plans_level_id'), 'target_plans', ['level_id'])
    op.create_index(op.f('ix_target_plans_user_id'), 'target_plans', ['user_id'])
    op.create_table(
        'target_closes',
        sa.Column('period_key', sa.String(length=7), nullable=False),
        sa.Column('status', sa.String(length=8), nullable=False),
        sa.Column('distributors', sa.Integer(), nullable=False),
        sa.Column('bonus_fen', sa.BigInteger(), nullable=False),
        sa.Column('closed_at', TS, nullable=True),
        sa.PrimaryKeyConstraint('period_key', name=op.f('pk_target_closes')),
    )
    op.create_table(
        'target_bonuses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('period_key', sa.String(length=7), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('target_fen', sa.BigInteger(), nullable=False),
        sa.Column('achieved_fen', sa.BigInteger(), nullable=False),
        sa.Column('attainment_bp', sa.Integer(), nullable=False),
        sa.Column('bonus_bp', sa.Integer(), nullable=False),
        sa.Column('bonus_fen', sa.BigInteger(), nullable=False),
        sa.Column('refunded_after_fen', sa.BigInteger(), nullable=False),
        sa.Column('reversed_fen', sa.BigInteger(), nullable=False),
        sa.Column('payout_id', sa.Integer(), nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.CheckConstraint('reversed_fen >= 0 AND reversed_fen <= bonus_fen',
                           name=op.f('ck_target_bonuses_reversed_within_bonus')),
        sa.ForeignKeyConstraint(['plan_id'], ['target_plans.id'], name=op.f('fk_target_bonuses_plan_id_target_plans')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_target_bonuses_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_target_bonuses')),
        sa.UniqueConstraint('user_id', 'period_key', name='uq_target_bonuses_user_period'),
    )
    op.create_index(op.f('ix_target_bonuses_period_key'), 'target_bonuses', ['period_key'])


def downgrade():
    op.drop_table('target_bonuses')
    op.drop_table('target_closes')
    op.drop_table('target_plans')
