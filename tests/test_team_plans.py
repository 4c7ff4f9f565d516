"""PostgreSQL: the team page's statements keep their index under a generic plan.

psycopg prepares a statement the app runs often (from its fifth run), and PostgreSQL may
then plan it once for any parameters. ``earner_id = $1 AND buyer_id IN (...)`` got the
covering ix_team_contributions_rank with the buyers as a filter: the earner's whole
team read on every page (38 ms at 128,000 contributions in bench/console.py). Here the
page's statements are caught, PREPAREd and EXPLAINed with plan_cache_mode set to
force_generic_plan: team_contributions is read by its primary key, never by a filter
over all of an earner's rows (the test fails on the bound earner).
"""

from __future__ import annotations

import re

import pytest
from helpers import buy, chain, create_product, drain, login
from sqlalchemy import event

from backend.extensions import db
from backend.referral.team import team_page


def _generic_plans(live, me_id: int, buyer_id: int) -> dict[str, str]:
    caught: list[tuple[str, dict]] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if not statement.startswith(("EXPLAIN", "PREPARE", "SET", "DEALLOCATE")):
            caught.append((statement, parameters))

    with live.app.app_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", note)
        try:
            body = team_page(me_id, 1, 1, 20)
        finally:
            event.remove(engine, "before_cursor_execute", note)
        db.session.remove()
        assert body["items"]
        plans = {}
        with engine.connect() as conn:
            # A shop's statistics: many earners with one contribution each, and this one
            # with thousands (the planner then expects one row for "some earner", and
            # knows this earner's). Inside a transaction rolled back at the end, rows and
            # statistics alike, so no other test sees them.
            conn.exec_driver_sql(
                "INSERT INTO users (openid, nickname, avatar_url, created_at, distributor_status, depth, "
                "has_paid_order) SELECT 'plan-tc-' || g, '', '', now(), 'approved', 0, false "
                "FROM generate_series(1, 6000) g")
            conn.exec_driver_sql(
                "INSERT INTO team_contributions (earner_id, buyer_id, net_fen) SELECT id, %(buyer)s, 100 "
                "FROM users WHERE openid LIKE 'plan-tc-%%'", {"buyer": buyer_id})
            conn.exec_driver_sql(
                "INSERT INTO team_contributions (earner_id, buyer_id, net_fen) SELECT %(me)s, id, 100 "
                "FROM users WHERE openid LIKE 'plan-tc-%%'", {"me": me_id})
            conn.exec_driver_sql("ANALYZE users")
            conn.exec_driver_sql("ANALYZE team_contributions")
            conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
            for n, (sql, params) in enumerate(caught):
                names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", sql)))
                prepared = re.sub(r"%\((\w+)\)s", lambda m, names=names: f"${names.index(m.group(1)) + 1}", sql)
                conn.exec_driver_sql(f"PREPARE team_plan_{n} AS {prepared}")
                values = ", ".join(repr(params[name]) if not isinstance(params[name], str)
                                   else "'" + params[name].replace("'", "''") + "'" for name in names)
                plan = "\n".join(row[0] for row in conn.exec_driver_sql(
                    f"EXPLAIN EXECUTE team_plan_{n}" + (f"({values})" if names else "")))
                conn.exec_driver_sql(f"DEALLOCATE team_plan_{n}")
                plans[sql] = plan
            conn.rollback()
    return plans


def test_the_team_page_reads_by_index_under_a_generic_plan(live, ops):
    with live.app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("plan checks are for PostgreSQL, the production target")
    a, b, c = chain(live)
    for _ in range(19):  # a full first page: the buyers are a list, as on a real team
        login(live, invite_code=b.user["invite_code"])
    buy(live, c, create_product(ops, price_fen=10_000)["id"])
    drain(live)
    plans = _generic_plans(live, b.id, c.id)
    contributions = [plan for sql, plan in plans.items() if "team_contributions" in sql]
    assert contributions, plans
    for plan in contributions:  # the buyers sought in the primary key, not filtered out of the earner's rank
        assert "ix_team_contributions_rank" not in plan and "Filter" not in plan, plan
