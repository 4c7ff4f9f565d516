"""the admin console: audit log, admin last login, daily shop figures, dashboard indexes

Revision ID: 0011_admin_console
Revises: 0013_order_list

users.distributor_since stays NULL for distributors approved before it existed: the
dashboard counts a new distributor from when it is set.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0011_admin_console'
down_revision = '0013_order_list'
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mariadb").with_variant(
    mysql.DATETIME(fsp=6), "mysql")


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
    sa.Column('created_at', UTC_DATETIME, nullable=False),
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
    sa.Column('rolled_at', UTC_DATETIME, nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_shop_daily_stats'))
    )
    op.add_column('admin_users', sa.Column('last_login_at', UTC_DATETIME, nullable=True))
    op.create_index('ix_ledger_entries_kind_created', 'ledger_entries', ['kind', 'created_at'], unique=False)
    op.create_index('ix_refunds_succeeded_at', 'refunds', ['succeeded_at'], unique=False)
    op.add_column('users', sa.Column('distributor_since', UTC_DATETIME, nullable=True))
    op.create_index('ix_users_distributor_since', 'users', ['distributor_since'], unique=False)



def _drop_column(table: str, column: str) -> None:
    # SQLite (3.35+) drops a column in place: a batch copy would DROP TABLE users, which
    # the rows referencing it (foreign keys on) refuse.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    else:
        op.drop_column(table, column)


def downgrade():
    op.drop_index("ix_users_distributor_since", table_name="users")
    _drop_column("users", "distributor_since")
    op.drop_index("ix_refunds_succeeded_at", table_name="refunds")
    op.drop_index("ix_ledger_entries_kind_created", table_name="ledger_entries")
    _drop_column("admin_users", "last_login_at")
    op.drop_table("shop_daily_stats")
    op.drop_table("shop_daily_commissions")
    for name in ("ix_admin_audit_target", "ix_admin_audit_created", "ix_admin_audit_admin_created",
                 "ix_admin_audit_action_created"):
        op.drop_index(name, table_name="admin_audit")
    op.drop_table("admin_audit")
