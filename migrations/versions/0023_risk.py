"""risk control: client facts, bind facts, reviews of held orders, distributors under review

Revision ID: 0023_risk
Revises: 0026_substitutes
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0023_risk"
down_revision = "0026_substitutes"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade():
    op.create_table(
        "risk_client_facts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_risk_client_facts_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_client_facts")),
        sa.UniqueConstraint("user_id", "kind", "value", name="uq_risk_client_facts_user_kind_value"),
    )
    op.create_index("ix_risk_client_facts_kind_value", "risk_client_facts", ["kind", "value"])
    op.create_table(
        "risk_bind_facts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("inviter_id", sa.Integer(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.Column("farm", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_risk_bind_facts_user_id_users")),
        sa.ForeignKeyConstraint(["inviter_id"], ["users.id"], name=op.f("fk_risk_bind_facts_inviter_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_bind_facts")),
    )
    op.create_index("ix_risk_bind_facts_inviter_ip", "risk_bind_facts", ["inviter_id", "ip", "created_at"])
    op.create_index("ix_risk_bind_facts_inviter_device", "risk_bind_facts", ["inviter_id", "device_id", "created_at"])
    op.create_index("ix_risk_bind_facts_user", "risk_bind_facts", ["user_id"])
    op.create_table(
        "risk_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("distributor_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("signals", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("note", sa.String(length=255), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_risk_reviews_order_id_orders")),
        sa.ForeignKeyConstraint(["distributor_id"], ["users.id"], name=op.f("fk_risk_reviews_distributor_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_reviews")),
        sa.UniqueConstraint("order_id", name="uq_risk_reviews_order_id"),
    )
    op.create_index("ix_risk_reviews_status_id", "risk_reviews", ["status", "id"])
    op.create_table(
        "risk_distributor_watch",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("under_review", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("signals", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_risk_distributor_watch_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_risk_distributor_watch")),
    )


def downgrade():
    # InnoDB: the tables go whole (their FKs with them), so no index is dropped before its FK.
    op.drop_table("risk_distributor_watch")
    op.drop_table("risk_reviews")
    op.drop_table("risk_bind_facts")
    op.drop_table("risk_client_facts")
