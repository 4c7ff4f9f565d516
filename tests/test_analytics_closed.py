"""Closed ranges of the fission analytics: computed once a Shanghai day (T+1) and kept in
Redis; the analytics page's opening range is computed ahead by the sweeper's daily job.

Facts are moved to days of 2020 that no other test touches."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import requests
from helpers import admin, drain, login, sweep
from sqlalchemy import update

from backend.analytics import jobs, service
from backend.community.models import ShareEvent
from backend.extensions import db, redis_client
from backend.timeutil import SHOP_TZ, utcnow

DAY = "2020-03-10"
RANGE = {"from": DAY, "to": "2020-03-11"}


def at(day: str, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}:00").replace(tzinfo=SHOP_TZ).astimezone(UTC)


def _share_on(live, client, day: str) -> None:
    page = f"closed-{uuid.uuid4().hex}"
    r = requests.post(live.api("/events"), json={"events": [{"type": "share", "page": page}]},
                      headers={"Authorization": f"Bearer {client.token}"}, timeout=30)
    assert r.status_code == 202, r.text
    with live.app.app_context():
        db.session.execute(update(ShareEvent).where(ShareEvent.page == page).values(created_at=at(day, "10:00")))
        db.session.commit()


def _forget(live, pattern: str) -> None:
    with live.app.app_context():
        conn = redis_client()
        for key in conn.scan_iter(match=f"*{pattern}*"):
            conn.delete(key)


def test_a_closed_range_is_computed_once_a_day_and_equals_the_live_count(live, admin_token):
    ops = admin(live, admin_token)
    sharer = login(live)
    _forget(live, f"analytics:fission:{DAY}")
    _share_on(live, sharer, DAY)
    first = ops.get("/admin/analytics/fission", params=RANGE).json()
    assert first["totals"]["shares"] == 1 and first["days"][0]["shares"] == 1

    # A share stamped into the closed day later (nothing real does that: facts are
    # stamped when they happen) is taken in only when the day's figure is computed again.
    _share_on(live, sharer, DAY)
    second = ops.get("/admin/analytics/fission", params=RANGE).json()
    assert second == first
    _forget(live, f"analytics:fission:{DAY}")
    again = ops.get("/admin/analytics/fission", params=RANGE).json()
    assert again["totals"]["shares"] == 2

    # what the cache keeps is exactly what the live computation answers
    with live.app.app_context():
        win = service.window(date.fromisoformat(DAY), date.fromisoformat(RANGE["to"]))
        live_totals = service._fission(win, win.days[0], date.fromisoformat(RANGE["to"]), None)["totals"]
        db.session.remove()
    assert again["totals"] == live_totals


def test_a_range_with_today_is_counted_live(live, admin_token):
    ops = admin(live, admin_token)
    sharer = login(live)
    today = utcnow().astimezone(SHOP_TZ).date()
    window = {"from": today.isoformat(), "to": (today + timedelta(days=1)).isoformat()}
    before = ops.get("/admin/analytics/fission", params=window).json()["totals"]["shares"]
    r = requests.post(live.api("/events"), json={"events": [{"type": "share", "page": f"t-{uuid.uuid4().hex}"}]},
                      headers={"Authorization": f"Bearer {sharer.token}"}, timeout=30)
    assert r.status_code == 202
    assert ops.get("/admin/analytics/fission", params=window).json()["totals"]["shares"] == before + 1


def test_the_sweeper_computes_the_opening_range_once_a_day(live):
    with live.app.app_context():
        prefix = live.app.config["FISSION"].queue_prefix
        today = utcnow().astimezone(SHOP_TZ).date()
        redis_client().delete(f"{prefix}:analytics:warm:{today.isoformat()}")
        first, to = jobs.opening_range(today)
    _forget(live, f"analytics:fission:{first.isoformat()}:{to.isoformat()}:all")
    if not service.closed(to):  # 00:00-01:00 in Shanghai: yesterday has not settled yet
        assert sweep(live)["analytics_warm"] == 0
        return
    assert sweep(live)["analytics_warm"] == 1
    assert sweep(live)["analytics_warm"] == 0  # once a day
    drain(live)
    with live.app.app_context():
        found = list(redis_client().scan_iter(match=f"*analytics:fission:{first}:{to}:all:{today}"))
    assert len(found) == 1
