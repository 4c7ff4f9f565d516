"""PostgreSQL: the operators' user search reads users by index, never a Seq Scan.

A few thousand users are inserted and ANALYZEd (no planner switch is touched), then
the statements the search really issues are caught on the engine and EXPLAINed with
their own parameters.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, event, insert, text

from backend.auth.models import User
from backend.extensions import db
from backend.referral import user_search

ROWS = 5000
BASE = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def many_users(live):
    with live.app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("plan checks are for PostgreSQL, the production target")
        tag = uuid.uuid4().hex[:6]
        rows = [dict(openid=f"plan-{tag}-{i}", nickname=f"n{i:05d}{tag}", avatar_url="",
                     created_at=BASE - timedelta(hours=i), depth=0, has_paid_order=False,
                     distributor_status="approved" if i % 100 == 0 else "pending" if i % 100 == 1 else "none",
                     invite_code=f"P{tag}{i:05d}".upper() if i % 100 == 0 else None)
                for i in range(ROWS)]
        db.session.execute(insert(User.__table__), rows)
        db.session.commit()
        db.session.execute(text("ANALYZE users"))
        db.session.commit()
        db.session.remove()
    yield tag
    with live.app.app_context():
        db.session.execute(delete(User).where(User.openid.like(f"plan-{tag}-%")))
        db.session.commit()
        db.session.remove()


def plans_of_search(live, args: dict) -> tuple[dict, list[tuple[str, str]]]:
    """(the search's answer, [(statement, its plan)] for every statement reading users)."""
    caught: list[tuple[str, object]] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if " users" in statement and not statement.startswith("EXPLAIN"):
            caught.append((statement, parameters))

    with live.app.app_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", note)
        try:
            args = {"page": 1, "per_page": 20, **args}
            body = user_search.search(args, args["page"], args["per_page"])
        finally:
            event.remove(engine, "before_cursor_execute", note)
        with engine.connect() as conn:
            plans = [(sql, "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + sql, params)))
                     for sql, params in caught]
        db.session.remove()
    return body, plans


def assert_by_index(plans, index: str) -> None:
    assert plans
    for sql, plan in plans:
        assert "Seq Scan on users" not in plan, f"{sql}\n{plan}"
    assert any(index in plan for _, plan in plans), "\n\n".join(plan for _, plan in plans)


def test_nickname_prefix_and_invite_code_read_by_index(live, many_users):
    tag = many_users
    body, plans = plans_of_search(live, {"q": "n0012"})
    assert body["total"] == 10 and body["items"][0]["nickname"] == f"n00120{tag}"
    assert_by_index(plans, "ix_users_nickname_prefix")
    assert any("uq_users_invite_code" in plan for _, plan in plans)


def test_digits_read_the_primary_key_and_the_invite_code(live, many_users):
    _, plans = plans_of_search(live, {"q": "12345"})
    assert_by_index(plans, "pk_users")
    assert any("uq_users_invite_code" in plan for _, plan in plans)


def test_status_reads_its_index(live, many_users):
    body, plans = plans_of_search(live, {"distributor_status": "pending"})
    assert body["total"] >= ROWS // 100
    assert_by_index(plans, "ix_users_status_created")


def test_joined_range_reads_its_index(live, many_users):
    body, plans = plans_of_search(live, {"joined_from": date(2026, 5, 20), "joined_to": date(2026, 5, 20)})
    assert body["total"] == 24
    assert_by_index(plans, "ix_users_created")


def test_the_unfiltered_list_walks_the_index_and_estimates_a_large_total(live, many_users, monkeypatch):
    monkeypatch.setattr(user_search, "ESTIMATE_FROM", ROWS)  # as if this were the million
    body, plans = plans_of_search(live, {})
    assert body["total_estimated"] is True and body["total"] >= ROWS  # reltuples after ANALYZE
    assert_by_index(plans, "ix_users_created")
    assert not any("count(" in sql.lower() for sql, _ in plans)  # no counting the table
