"""group-invite funnels: live codes, groups, invites, joins, alerts, funnel rollups

Revision ID: 0007_group_invites
Revises: 0006_reconciliation
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0007_group_invites"
down_revision = "0006_reconciliation"
branch_labels = None
depends_on = None

# UTC with microseconds everywhere (see backend.extensions.UTCDateTime)
TS = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def _fk(table, column, target):
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}")


def upgrade():
    with op.batch_alter_table("share_events") as batch:
        batch.add_column(sa.Column("order_id", sa.Integer(), nullable=True))
    op.create_index("ix_orders_paid_at", "orders", ["paid_at"])

    op.create_table(
        "group_live_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("text", sa.String(200), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("distributor_id", sa.Integer(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("low_water", sa.Integer(), nullable=False),
        sa.Column("contact_userid", sa.String(64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _fk("group_live_codes", "product_id", "products"),
        _fk("group_live_codes", "campaign_id", "campaigns"),
        _fk("group_live_codes", "distributor_id", "users"),
        sa.PrimaryKeyConstraint("id", name="pk_group_live_codes"),
    )
    op.create_table(
        "community_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("live_code_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=True),
        sa.Column("qr_image", sa.LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql", "mariadb"), nullable=True),
        sa.Column("qr_token", sa.String(32), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("expires_at", TS, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _fk("community_groups", "live_code_id", "group_live_codes"),
        sa.PrimaryKeyConstraint("id", name="pk_community_groups"),
        sa.UniqueConstraint("chat_id", name="uq_community_groups_chat_id"),
        sa.UniqueConstraint("qr_token", name="uq_community_groups_qr_token"),
    )
    op.create_index("ix_community_groups_code_status", "community_groups", ["live_code_id", "status"])
    op.create_table(
        "group_invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("distributor_id", sa.Integer(), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("paid_day", sa.Date(), nullable=False),
        sa.Column("live_code_id", sa.Integer(), nullable=True),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(30), nullable=False),
        sa.Column("join_way_config_id", sa.String(64), nullable=True),
        sa.Column("join_way_qr", sa.String(255), nullable=True),
        sa.Column("contact_way_config_id", sa.String(64), nullable=True),
        sa.Column("contact_way_qr", sa.String(255), nullable=True),
        sa.Column("shown_at", TS, nullable=False),
        sa.Column("opened_at", TS, nullable=True),
        sa.Column("saved_at", TS, nullable=True),
        sa.Column("joined_at", TS, nullable=True),
        sa.Column("contact_added_at", TS, nullable=True),
        _fk("group_invites", "order_id", "orders"),
        _fk("group_invites", "user_id", "users"),
        _fk("group_invites", "distributor_id", "users"),
        _fk("group_invites", "product_id", "products"),
        _fk("group_invites", "live_code_id", "group_live_codes"),
        _fk("group_invites", "group_id", "community_groups"),
        sa.PrimaryKeyConstraint("id", name="pk_group_invites"),
        sa.UniqueConstraint("order_id", name="uq_group_invites_order_id"),
        sa.UniqueConstraint("state", name="uq_group_invites_state"),
    )
    op.create_index("ix_group_invites_user", "group_invites", ["user_id"])
    op.create_table(
        "group_joins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(160), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("member", sa.String(64), nullable=False),
        sa.Column("unionid", sa.String(64), nullable=True),
        sa.Column("join_scene", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(30), nullable=True),
        sa.Column("invite_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("distributor_id", sa.Integer(), nullable=True),
        sa.Column("joined_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _fk("group_joins", "group_id", "community_groups"),
        _fk("group_joins", "invite_id", "group_invites"),
        _fk("group_joins", "order_id", "orders"),
        _fk("group_joins", "distributor_id", "users"),
        sa.PrimaryKeyConstraint("id", name="pk_group_joins"),
        sa.UniqueConstraint("dedupe_key", name="uq_group_joins_dedupe_key"),
    )
    op.create_index("ix_group_joins_order", "group_joins", ["order_id"])
    op.create_table(
        "community_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("live_code_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("message", sa.String(255), nullable=False),
        sa.Column("usable_groups", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("resolved_at", TS, nullable=True),
        _fk("community_alerts", "live_code_id", "group_live_codes"),
        sa.PrimaryKeyConstraint("id", name="pk_community_alerts"),
    )
    op.create_index("ix_community_alerts_open", "community_alerts", ["live_code_id", "kind", "resolved_at"])
    op.create_table(
        "funnel_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dim", sa.String(12), nullable=False),
        sa.Column("dim_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("shown", sa.Integer(), nullable=False),
        sa.Column("opened", sa.Integer(), nullable=False),
        sa.Column("saved", sa.Integer(), nullable=False),
        sa.Column("joined", sa.Integer(), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.Column("join_seconds", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "dim", "dim_id", name="pk_funnel_daily"),
    )
    op.create_table(
        "funnel_paid_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dim", sa.String(12), nullable=False),
        sa.Column("dim_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("paid_orders", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "dim", "dim_id", name="pk_funnel_paid_daily"),
    )
    op.create_table(
        "funnel_paid_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rolled_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_funnel_paid_days"),
    )


def downgrade():
    for table in ("funnel_paid_days", "funnel_paid_daily", "funnel_daily", "community_alerts", "group_joins",
                  "group_invites", "community_groups", "group_live_codes"):
        op.drop_table(table)
    op.drop_index("ix_orders_paid_at", table_name="orders")
    with op.batch_alter_table("share_events") as batch:
        batch.drop_column("order_id")
