"""The models and the migrations describe the same schema, on whichever database runs.

The session's schema was built by ``flask db upgrade`` (conftest.reset_database);
autogenerate compares it with the models' metadata and must find nothing to do.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from backend.config import PROJECT_ROOT
from backend.extensions import db

MIGRATIONS = PROJECT_ROOT / "migrations"


def test_one_head():
    heads = ScriptDirectory(str(MIGRATIONS)).get_heads()
    assert len(heads) == 1, heads


def test_database_is_at_the_head(live):
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    with live.app.app_context(), db.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head


def test_models_and_migrations_agree(live):
    with live.app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], "\n".join(map(repr, diff))


def test_the_comparison_would_see_a_difference(live):
    """Guard against a vacuous pass: a model the migrations lack is reported."""
    from sqlalchemy import Column, Integer, MetaData, Table

    extra = MetaData()
    for table in db.metadata.tables.values():
        table.to_metadata(extra)
    Table("not_migrated", extra, Column("id", Integer, primary_key=True))
    with live.app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), extra)
    assert [d[0] for d in diff] == ["add_table"] and diff[0][1].name == "not_migrated", diff


def test_weekly_and_semi_monthly_counterparties_without_a_cutoff_get_its_default(live):
    """0010: rows stored with cut-off 0 before read back as 7 (weekly) and 15
    (semi-monthly) after the upgrade; monthly keeps 0 (the month's last day)."""
    import uuid

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    tag = uuid.uuid4().hex[:6]
    with live.app.app_context():
        downgrade(revision="0009_refund_order_flips")
        for cycle in ("weekly", "semi_monthly", "monthly"):
            db.session.execute(text(
                "INSERT INTO recon_counterparties (kind, code, name, billing_cycle, cutoff_day, currency, email,"
                " qty_tolerance, price_tolerance, created_at) VALUES ('supplier', :code, 'Old', :cycle, 0, 'CNY',"
                " '', 0, 0, CURRENT_TIMESTAMP)"), {"code": f"OLD-{cycle}-{tag}", "cycle": cycle})
        db.session.commit()
        upgrade()
        rows = dict(db.session.execute(text("SELECT billing_cycle, cutoff_day FROM recon_counterparties"
                                            " WHERE code LIKE :p"), {"p": f"OLD-%-{tag}"}).all())
        db.session.execute(text("DELETE FROM recon_counterparties WHERE code LIKE :p"), {"p": f"OLD-%-{tag}"})
        db.session.commit()
    assert rows == {"weekly": 7, "semi_monthly": 15, "monthly": 0}
