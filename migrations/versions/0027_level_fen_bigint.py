"""distributor levels: GMV thresholds and the figures of a level change in BIGINT

A large distributor's team GMV over 90 days passes 2^31 fen (21 million yuan) in a big
shop: ``bench/levels.py`` met it on the first night. Money sums are BIGINT everywhere
else already (targets, daily figures, the channel snapshot).

Revision ID: 0027_level_fen_bigint
Revises: 0024_channel_health
"""
import sqlalchemy as sa
from alembic import op

revision = "0027_level_fen_bigint"
down_revision = "0024_channel_health"
branch_labels = None
depends_on = None

COLUMNS = {
    "distributor_levels": ("min_gmv_fen", "min_team_gmv_fen"),
    "distributor_level_changes": ("gmv_fen", "team_gmv_fen"),
}


def _retype(old, new):
    for table, columns in COLUMNS.items():
        # batch mode: SQLite rebuilds the table (its INTEGER already holds 64 bits, but
        # the declared type is what the models are compared with)
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, existing_type=old, type_=new, existing_nullable=False)


def upgrade():
    _retype(sa.Integer(), sa.BigInteger())


def downgrade():
    _retype(sa.BigInteger(), sa.Integer())
