"""the admin console: audit log, admin last login, daily shop figures, dashboard indexes

Revision ID: 0011_admin_console
Revises: 0010_cutoff_defaults

users.distributor_since stays NULL for distributors approved before it existed: the
dashboard counts a new distributor from when it is set.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0011_admin_console'
down_revision = '0010_cutoff_defaults'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('admin_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('admin_id', sa.Integer(), nullable=False),
    sa.Column('admin_username', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=128), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('path', sa.String(length=512), nullable=False),
    sa.Column('target_type', sa.String(length=32), nullable=True),
    sa.Column('target_id', sa.String(length=64), nullable=True),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), 'mariadb').with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_audit'))
    )
    with op.batch_alter_table('admin_audit', schema=None) as batch_op:
        batch_op.create_index('ix_admin_audit_action_created', ['action', 'created_at'], unique=False)
        batch_op.create_index('ix_admin_audit_admin_created', ['admin_id', 'created_at'], unique=False)
        batch_op.create_index('ix_admin_audit_created', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_admin_audit_target', ['target_type', 'target_id', 'created_at'], unique=False)

    op.create_table('shop_daily_commissions',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('commission_fen', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'user_id', name=op.f('pk_shop_daily_commissions'))
    )
    op.create_table('shop_daily_stats',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('gmv_fen', sa.Integer(), nullable=False),
    sa.Column('paid_orders', sa.Integer(), nullable=False),
    sa.Column('refunded_fen', sa.Integer(), nullable=False),
    sa.Column('commission_credited_fen', sa.Integer(), nullable=False),
    sa.Column('new_users', sa.Integer(), nullable=False),
    sa.Column('new_distributors', sa.Integer(), nullable=False),
    sa.Column('rolled_at', sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), 'mariadb').with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_shop_daily_stats'))
    )
    with op.batch_alter_table('admin_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_login_at', sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), 'mariadb').with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=True))

    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entries_kind_created', ['kind', 'created_at'], unique=False)

    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index('ix_refunds_succeeded_at', ['succeeded_at'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('distributor_since', sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), 'mariadb').with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=True))
        batch_op.create_index('ix_users_created_at', ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_users_distributor_since'), ['distributor_since'], unique=False)



def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_distributor_since'))
        batch_op.drop_index('ix_users_created_at')
        batch_op.drop_column('distributor_since')

    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index('ix_refunds_succeeded_at')

    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entries_kind_created')

    with op.batch_alter_table('admin_users', schema=None) as batch_op:
        batch_op.drop_column('last_login_at')

    op.drop_table('shop_daily_stats')
    op.drop_table('shop_daily_commissions')
    with op.batch_alter_table('admin_audit', schema=None) as batch_op:
        batch_op.drop_index('ix_admin_audit_target')
        batch_op.drop_index('ix_admin_audit_created')
        batch_op.drop_index('ix_admin_audit_admin_created')
        batch_op.drop_index('ix_admin_audit_action_created')

    op.drop_table('admin_audit')
