"""``flask fission demo``: the demo shop loads through the services, once.

The demo gets a database of its own (a sibling of the session's: ``<name>_demo`` on
PostgreSQL and MariaDB, another SQLite file otherwise) and its own queue prefix, so
its people, boards and live code never show up in the other tests' shop.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

import pytest
from conftest import ADMIN_PASSWORD, TMP, reset_database
from helpers import close_engines
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from backend import create_app, queue
from backend.config import load_config
from backend.demo import people
from backend.extensions import db
from backend.timeutil import SHOP_TZ, as_utc, utcnow

TABLES = ("products", "users", "orders", "order_items", "commissions", "ledger_entries", "payouts", "wallets",
          "refunds", "bind_history", "team_sizes", "team_contributions", "campaigns", "group_live_codes",
          "community_groups", "group_invites", "funnel_daily", "share_events")


def _demo_database_url(url: str | None) -> str:
    if not url or url.startswith("sqlite"):
        return f"sqlite:///{TMP / 'demo.db'}"
    parsed = make_url(url)
    name = f"{parsed.database}_demo"
    server = create_engine(parsed.set(database="postgres" if parsed.get_backend_name() == "postgresql" else ""),
                           isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        if parsed.get_backend_name() == "postgresql":
            if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        else:
            conn.execute(text(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4"))
    server.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def demo_app(emulator):
    base = load_config()
    wechat = dataclasses.replace(base.wechat, sandbox=True, api_base=emulator.url, pay_api_base=emulator.url,
                                 emulator_url=emulator.url, key_dir=TMP / "keys", http_timeout=2.0)
    config = dataclasses.replace(base, wechat=wechat, testing=True, admin_password=ADMIN_PASSWORD,
                                 database_url=_demo_database_url(base.database_url),
                                 queue_prefix=f"fission-demo-{uuid.uuid4().hex[:8]}")
    app = create_app(config)
    reset_database(app)
    with app.app_context():
        from backend.auth.service import ensure_first_admin

        ensure_first_admin("admin", ADMIN_PASSWORD)
        db.session.commit()
    worker_app = queue._worker_app
    yield app
    queue._worker_app = worker_app  # the demo command pointed the jobs at its app
    close_engines(app)


def _counts(app) -> dict:
    with app.app_context():
        counts = {t: db.session.scalar(text(f"SELECT count(*) FROM {t}")) for t in TABLES}  # noqa: S608 - fixed names
        counts["wallet_fen"] = db.session.scalar(text(
            "SELECT coalesce(sum(available_fen + pending_fen + in_transit_fen + paid_out_fen + total_earned_fen), 0)"
            " FROM wallets"))
        counts["stock"] = db.session.scalar(text("SELECT sum(stock) FROM products"))
        db.session.rollback()
    return counts


def _demo(app, *args):
    result = app.test_cli_runner().invoke(args=["fission", "demo", *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_the_demo_shop_loads_through_the_services_and_a_second_run_adds_nothing(demo_app):
    output = _demo(demo_app)
    assert "GRM188R71H104KA93D" in output and "RC0603FR-0710KL" in output  # a line per part
    first = _counts(demo_app)
    assert first["products"] >= 200
    assert first["users"] == len(people.plan_people())
    assert first["refunds"] > 0 and first["campaigns"] == 1 and first["community_groups"] == 3

    again = _demo(demo_app, "--quiet")
    assert "nothing to add" in again
    assert _counts(demo_app) == first

    check = demo_app.test_cli_runner().invoke(args=["fission", "ledger-check"])
    assert check.exit_code == 0 and "every wallet equals its ledger" in check.output, check.output


def test_what_operators_and_customers_see_of_the_demo(demo_app):
    _demo(demo_app, "--quiet")  # loaded by the test above; alone, this one loads it
    client = demo_app.test_client()
    login = client.post("/api/v1/admin/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    token = login.json["token"]
    ops = {"Authorization": f"Bearer {token}"}

    found = client.get("/api/v1/products", query_string={"q": "CL10A106KP8NNNC"}).json
    assert [(p["brand"], p["part_no"]) for p in found["items"]] == [("Samsung", "CL10A106KP8NNNC")]
    assert client.get("/api/v1/products").json["total"] >= 200

    board = client.get("/api/v1/leaderboards/commission", query_string={"period": "all", "limit": 10}).json
    assert board["items"] and all(item["user"]["nickname"] in people.NICKNAMES for item in board["items"])
    assert board["items"][0]["score"] > 0

    with demo_app.app_context():
        from backend.auth.models import User
        from backend.commission.models import Commission
        from backend.orders.models import Order

        demo_users = select(User.id).where(User.openid.like(f"{people.OPENID_PREFIX}%"))
        statuses = dict(db.session.execute(select(Order.status, func.count()).where(Order.user_id.in_(demo_users))
                                           .group_by(Order.status)).all())
        paid_at = [as_utc(t) for t in db.session.scalars(select(Order.paid_at).where(Order.paid_at.is_not(None)))]
        mismatched = db.session.scalar(select(func.count()).select_from(Commission).join(
            Order, Order.id == Commission.order_id).where(Commission.created_at != Order.paid_at))
        kol = db.session.scalar(select(User.id).where(User.openid == people.OPENID_PREFIX + people.KOL_KEY))
        db.session.rollback()
    assert statuses["paid"] >= 100 and statuses["refunded"] > 0 and statuses["partially_refunded"] > 0
    assert statuses["pending_payment"] > 0
    # the orders are spread over the last 30 days, and their commissions carry the same moment
    now = utcnow()
    assert min(paid_at) > now - timedelta(days=31) and max(paid_at) < now
    assert len({t.astimezone(SHOP_TZ).date() for t in paid_at}) >= 15
    assert mismatched == 0

    wallet = client.get(f"/api/v1/admin/users/{kol}/wallet-check", headers=ops).json
    assert wallet["ok"] is True, wallet
    groups = client.get("/api/v1/admin/community/groups", headers=ops).json
    assert {g["name"] for g in groups["items"]} >= {"元器件交流1群", "元器件交流2群"}
    today = now.astimezone(SHOP_TZ).date()
    funnel = client.get("/api/v1/admin/community/funnel", headers=ops, query_string={
        "by": "day", "from": (today - timedelta(days=31)).isoformat(), "to": (today + timedelta(days=1)).isoformat()})
    assert funnel.status_code == 200, funnel.json
    totals = funnel.json["totals"]
    assert totals["paid_orders"] >= statuses["paid"] and 0 < totals["opened"] <= totals["shown"] < totals["paid_orders"]
    assert len([row for row in funnel.json["rows"] if row["shown"]]) >= 10  # shown on the days the orders were paid
