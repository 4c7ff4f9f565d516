"""claims on creating an invite's 企业微信 join way and contact way

Revision ID: 0018_invite_way_claims
Revises: 0017_price_breaks

Racing first calls of GET /orders/{id}/group-invite each created a join way and a
contact way (2-4 of each for one invite, never shown, eating the account's quota).
The request that claims the way (a conditional UPDATE of these columns) creates it;
the others wait for it. A claim lapses at its time, so a request that died mid-call
does not block the invite for good.
"""
import sqlalchemy as sa
from alembic import op

from backend.extensions import UTCDateTime

revision = "0018_invite_way_claims"
down_revision = "0017_price_breaks"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("group_invites", sa.Column("join_way_claimed_until", UTCDateTime, nullable=True))
    op.add_column("group_invites", sa.Column("contact_way_claimed_until", UTCDateTime, nullable=True))


def _drop_column(table: str, column: str) -> None:
    # SQLite (3.35+) drops a column in place: a batch copy would DROP TABLE group_invites,
    # which the rows referencing it (foreign keys on) refuse.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    else:
        op.drop_column(table, column)


def downgrade():
    _drop_column("group_invites", "contact_way_claimed_until")
    _drop_column("group_invites", "join_way_claimed_until")
