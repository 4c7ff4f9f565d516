"""MySQL/MariaDB: keep microseconds in every time column

Revision ID: 0004_mysql_datetime_fsp
Revises: 0003_campaigns

Other databases already keep them (PostgreSQL timestamptz, SQLite text); only
MySQL's DATETIME defaults to whole seconds.
"""
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0004_mysql_datetime_fsp"
down_revision = "0003_campaigns"
branch_labels = None
depends_on = None

COLUMNS = [
    ('admin_users', 'created_at', False),
    ('bind_history', 'created_at', False),
    ('campaign_standings', 'reached_at', False),
    ('campaigns', 'starts_at', False),
    ('campaigns', 'ends_at', False),
    ('campaigns', 'closed_at', True),
    ('campaigns', 'created_at', False),
    ('commissions', 'available_at', False),
    ('commissions', 'created_at', False),
    ('ledger_entries', 'created_at', False),
    ('orders', 'created_at', False),
    ('orders', 'expires_at', False),
    ('orders', 'paid_at', True),
    ('orders', 'cancelled_at', True),
    ('payouts', 'next_attempt_at', False),
    ('payouts', 'notified_at', True),
    ('payouts', 'created_at', False),
    ('payouts', 'updated_at', False),
    ('payouts', 'submitted_at', True),
    ('payouts', 'finished_at', True),
    ('products', 'created_at', False),
    ('products', 'updated_at', False),
    ('refunds', 'created_at', False),
    ('refunds', 'next_attempt_at', False),
    ('refunds', 'succeeded_at', True),
    ('settings', 'updated_at', False),
    ('share_events', 'client_ts', True),
    ('share_events', 'created_at', False),
    ('users', 'created_at', False),
    ('users', 'bound_at', True),
    ('wallets', 'updated_at', False),
]


def _retype(fsp: int) -> None:
    if op.get_bind().dialect.name != "mysql":
        return
    for table, column, nullable in COLUMNS:
        op.alter_column(table, column, type_=mysql.DATETIME(fsp=fsp), existing_nullable=nullable)


def upgrade():
    _retype(6)


def downgrade():
    _retype(0)
