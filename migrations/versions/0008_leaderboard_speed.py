"""leaderboard and team read paths

Revision ID: 0008_leaderboard_speed
Revises: 0007_group_invites
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0008_leaderboard_speed"
down_revision = "0007_group_invites"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("commissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("released_at", sa.DateTime(timezone=True).with_variant(
            mysql.DATETIME(fsp=6), "mysql", "mariadb"), nullable=True))
    # Backfill from the release entries of the ledger.
    op.execute(
        "UPDATE commissions SET released_at = (SELECT min(l.created_at) FROM ledger_entries l "
        "WHERE l.commission_id = commissions.id AND l.kind = 'commission_released')"
    )
    op.create_table(
        "team_contributions",
        sa.Column("earner_id", sa.Integer(), nullable=False),
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("net_fen", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["buyer_id"], ["users.id"], name=op.f("fk_team_contributions_buyer_id_users")),
        sa.ForeignKeyConstraint(["earner_id"], ["users.id"], name=op.f("fk_team_contributions_earner_id_users")),
        sa.PrimaryKeyConstraint("earner_id", "buyer_id", name=op.f("pk_team_contributions")),
    )
    op.create_table(
        "team_sizes",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("level1_count", sa.Integer(), nullable=False),
        sa.Column("level2_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_team_sizes")),
    )
    op.execute(  # each user's level 1 and level 2 sizes, counted once, grouped (never per row)
        "INSERT INTO team_sizes (user_id, level1_count, level2_count) "
        "SELECT id, sum(one), sum(two) FROM ("
        " SELECT inviter_id AS id, 1 AS one, 0 AS two FROM users WHERE inviter_id IS NOT NULL"
        " UNION ALL SELECT inviter2_id, 0, 1 FROM users WHERE inviter2_id IS NOT NULL) t GROUP BY id"
    )
    # team indexes that cover a nickname search (new first: MySQL needs an index for the FK)
    op.create_index("ix_users_inviter_team", "users", ["inviter_id", "bound_at", "id", "nickname"])
    op.create_index("ix_users_inviter2_team", "users", ["inviter2_id", "bound_at", "id", "nickname"])
    op.drop_index("ix_users_inviter_bound", table_name="users")
    op.drop_index("ix_users_inviter2_bound", table_name="users")
    op.create_index("ix_team_contributions_rank", "team_contributions", ["earner_id", "net_fen", "buyer_id"])
    op.execute(
        "INSERT INTO team_contributions (earner_id, buyer_id, net_fen) "
        "SELECT user_id, buyer_id, sum(amount_fen - reversed_fen) FROM commissions GROUP BY user_id, buyer_id"
    )


def downgrade():
    op.create_index("ix_users_inviter_bound", "users", ["inviter_id", "bound_at"])
    op.create_index("ix_users_inviter2_bound", "users", ["inviter2_id", "bound_at", "id"])
    op.drop_index("ix_users_inviter_team", table_name="users")
    op.drop_index("ix_users_inviter2_team", table_name="users")
    op.drop_table("team_sizes")
    op.drop_index("ix_team_contributions_rank", table_name="team_contributions")
    op.drop_table("team_contributions")
    with op.batch_alter_table("commissions", schema=None) as batch_op:
        batch_op.drop_column("released_at")
