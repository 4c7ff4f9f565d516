"""The dashboard: what was paid, refunded and earned today and over 30 days, from live
index ranges (today) and the daily rollup (closed days)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from helpers import buy, chain, create_product, drain, finance_client, login

from backend.admin import dashboard, running_day
from backend.admin.models import ShopDailyCommission, ShopDailyStats, ShopRunningCommission, ShopRunningDay
from backend.extensions import db
from backend.timeutil import SHOP_TZ, shop_day_bounds, utcnow

FIGURES = ("gmv_fen", "paid_orders", "refunded_fen", "commission_credited_fen", "new_users", "new_distributors")


def _read(client) -> dict:
    r = client.get("/admin/dashboard")
    assert r.status_code == 200, r.text
    return r.json()


def _delta(after: dict, before: dict) -> dict:
    return {name: after[name] - before[name] for name in FIGURES}


def test_figures_follow_real_paid_and_refunded_orders(live, ops):
    before = _read(ops)
    a, b, c = chain(live)  # three new users, two new distributors
    product = create_product(ops, price_fen=4_000_000)
    first = buy(live, c, product["id"])
    buy(live, c, product["id"], quantity=2)
    drain(live)
    r = ops.post(f"/admin/orders/{first['id']}/refund", json={"amount_fen": 1_500_000, "reason": "damaged"})
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 20
    while True:  # the refund succeeds when WeChat's notify comes
        after = _read(ops)
        if after["today"]["refunded_fen"] - before["today"]["refunded_fen"] >= 1_500_000 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    paid = 4_000_000 * 3
    expected = {"gmv_fen": paid, "paid_orders": 2, "refunded_fen": 1_500_000,
                "commission_credited_fen": paid * 15 // 100, "new_users": 3, "new_distributors": 2}
    assert _delta(after["today"], before["today"]) == expected
    assert _delta(after["last_30_days"], before["last_30_days"]) == expected
    today = datetime.now(SHOP_TZ).date()
    assert [d["day"] for d in after["series"]] == [(today - timedelta(days=29 - n)).isoformat() for n in range(30)]
    assert after["series"][-1]["gmv_fen"] - before["series"][-1]["gmv_fen"] == paid
    assert sum(d["gmv_fen"] for d in after["series"]) == after["last_30_days"]["gmv_fen"]
    assert after["last_30_days"]["from"] == after["series"][0]["day"]
    assert after["last_30_days"]["to"] == today.isoformat()
    top = {row["user"]["id"]: row for row in after["top_distributors"]}
    assert top[b.id]["commission_fen"] == paid // 10 and top[b.id]["user"]["nickname"] == b.user["nickname"]
    assert top[a.id]["commission_fen"] == paid // 20
    assert set(after["payouts"]) == {"pending", "failed", "in_transit", "amounts_fen"}
    assert set(after["payouts"]["amounts_fen"]) == {"pending", "failed", "in_transit"}
    assert after["today"]["group_join_rate"] is None or after["today"]["group_join_rate"] >= 0


def test_who_may_read_it(live, ops):
    for role in ("operator", "finance"):
        assert finance_client(live, role).get("/admin/dashboard").status_code == 200
    assert login(live).get("/admin/dashboard").status_code == 403


def test_the_rollup_recomputes_a_day_idempotently(live, ops):
    c = login(live)
    product = create_product(ops, price_fen=7_000)
    buy(live, c, product["id"])
    now = datetime.now(UTC)
    today = dashboard.shop_today(now)
    with live.app.app_context():
        try:
            live_today = dashboard.figures(*shop_day_bounds(today))
            first = dashboard.roll_up_day(today)
            db.session.commit()
            second = dashboard.roll_up_day(today)
            db.session.commit()
            assert first == second == live_today
            [row] = db.session.scalars(db.select(ShopDailyStats).where(ShopDailyStats.day == today)).all()
            assert {name: getattr(row, name) for name in FIGURES} == first
            # once today has closed, the dashboard reads it from the rollup, not live
            later = shop_day_bounds(today)[1] + timedelta(hours=2)
            db.session.execute(db.update(ShopDailyStats).where(ShopDailyStats.day == today).values(gmv_fen=123))
            db.session.commit()
            seen = dashboard.dashboard(now=later)
            assert seen["series"][-2]["day"] == today.isoformat() and seen["series"][-2]["gmv_fen"] == 123
            # the sweeper's step rolls a recent closed day again after it settled: the real figures return
            assert today in dashboard.roll_up_due(now=later + dashboard.RESETTLE)
            db.session.commit()
            assert db.session.get(ShopDailyStats, today).gmv_fen == first["gmv_fen"]
            assert today not in dashboard.roll_up_due(now=later + dashboard.RESETTLE)  # settled: left alone
        finally:
            db.session.rollback()
            for model in (ShopDailyCommission, ShopDailyStats):
                db.session.execute(db.delete(model).where(model.day >= today - timedelta(days=1)))
            db.session.commit()
            db.session.remove()


def test_today_is_its_running_row_plus_the_minutes_since(live, ops):
    """The sweeper advances today's running row a slice at a time; the dashboard adds
    the minutes since, so today's figures are the same whichever way they were counted."""
    product = create_product(ops, price_fen=9_100)
    _, b, c = chain(live)
    buy(live, c, product["id"])
    drain(live)
    try:
        with live.app.app_context():
            start, _ = shop_day_bounds(dashboard.shop_today())
            assert running_day.advance(now=utcnow() + running_day.LAG)  # the slice ends now
            db.session.commit()
            assert not running_day.advance(now=utcnow() + running_day.LAG - timedelta(seconds=30))  # nothing new
            row = db.session.get(ShopRunningDay, dashboard.shop_today())
            assert {name: getattr(row, name) for name in FIGURES} == dashboard.figures(start, row.through)
            earned = db.session.get(ShopRunningCommission, (row.day, b.id)).commission_fen
            assert earned >= 910
            db.session.remove()
        # an order paid after the slice is counted live on top of the row
        before = _read(ops)
        buy(live, c, product["id"])
        drain(live)
        after = _read(ops)
        assert _delta(after["today"], before["today"])["gmv_fen"] == 9_100
        assert _delta(after["today"], before["today"])["paid_orders"] == 1
        top = {row["user"]["id"]: row["commission_fen"] for row in after["top_distributors"]}
        assert top.get(b.id) == earned + 910 or (b.id not in top and len(top) == dashboard.TOP)
        with live.app.app_context():
            assert running_day.advance(now=utcnow() + running_day.LAG)
            db.session.commit()
            row = db.session.get(ShopRunningDay, dashboard.shop_today())
            assert {name: getattr(row, name) for name in FIGURES} == dashboard.figures(start, row.through)
            db.session.remove()
        assert _read(ops)["today"] == after["today"]  # moved into the row, counted once
    finally:
        with live.app.app_context():
            for model in (ShopRunningCommission, ShopRunningDay):
                db.session.execute(db.delete(model))
            db.session.commit()
            db.session.remove()
