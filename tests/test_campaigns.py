"""Campaign boards: standings archived at the end, prizes paid exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests
from helpers import buy, chain, create_product, distributor, drain, login, set_settings, sweep

from backend.commission.models import LedgerEntry
from backend.extensions import db
from backend.leaderboard.jobs import close_campaign
from backend.leaderboard.models import Campaign


def test_campaign_pays_its_prizes_once(live, ops):
    # a window of its own, so other tests' sales do not enter it
    start = datetime.now(UTC) - timedelta(seconds=1)
    r = ops.post("/admin/campaigns", json={
        "name": "Double Eleven", "metric": "commission", "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(),
        "prizes": [{"from_rank": 1, "to_rank": 1, "amount_fen": 50_000},
                   {"from_rank": 2, "to_rank": 3, "amount_fen": 10_000}]})
    assert r.status_code == 201, r.text
    campaign = r.json()
    a, b, c = chain(live)
    d = distributor(live)
    e = login(live, invite_code=d.user["invite_code"])
    # large sales, so a stray order of another test landing in the window ranks below
    product = create_product(ops, price_fen=1_000_000)
    buy(live, c, product["id"])  # B 100,000, A 50,000
    buy(live, e, product["id"])  # D 100,000 (after B: B ranks first on the tie)
    drain(live)

    live_board = requests.get(live.api(f"/campaigns/{campaign['id']}"), params={"limit": 100}, timeout=10).json()
    ours = [(i["user"]["id"], i["score"]) for i in live_board["items"] if i["user"]["id"] in {a.id, b.id, d.id}]
    assert ours == [(b.id, 100_000), (d.id, 100_000), (a.id, 50_000)]
    early = ops.post(f"/admin/campaigns/{campaign['id']}/close")
    assert early.status_code == 409  # it has not ended

    with live.app.app_context():  # the hour passes
        row = db.session.get(Campaign, campaign["id"])
        row.ends_at = datetime.now(UTC)
        db.session.commit()
    assert sweep(live)["campaigns"] >= 1
    drain(live)
    with live.app.app_context():
        close_campaign(campaign["id"])  # the closing job runs again: nothing more happens
        close_campaign(campaign["id"])
    drain(live)

    closed = requests.get(live.api(f"/campaigns/{campaign['id']}"), params={"limit": 100}, timeout=10).json()
    assert closed["status"] == "closed"
    ranks = {i["user"]["id"]: (i["rank"], i["prize_fen"]) for i in closed["items"]}
    assert (ranks[b.id], ranks[d.id], ranks[a.id]) == ((1, 50_000), (2, 10_000), (3, 10_000)), closed["items"]
    wallets = {u.id: u.get("/me/wallet").json() for u in (a, b, d)}
    # B: 100,000 commission + the prize of B's rank; D and A likewise
    for person, commission in ((b, 100_000), (d, 100_000), (a, 50_000)):
        rank, prize = ranks[person.id]
        assert wallets[person.id]["available_fen"] == commission + prize
    with live.app.app_context():
        prizes = db.session.scalars(db.select(LedgerEntry).where(
            LedgerEntry.idempotency_key.like(f"prize:{campaign['id']}:%"))).all()
    assert sorted(p.amount_fen for p in prizes) == [10_000, 10_000, 50_000]  # one entry per prize, no more
    set_settings(ops, payout_rail="wallet")


def test_a_campaign_waits_for_the_hold_of_its_sales(live, ops):
    """With a hold, the window's commissions reach the wallets days after the end: the
    campaign closes once they did, not before (they would never count otherwise)."""
    from backend.commission.models import Commission, Payout
    from backend.timeutil import utcnow

    set_settings(ops, hold_days=3)
    try:
        start = datetime.now(UTC) - timedelta(seconds=1)
        r = ops.post("/admin/campaigns", json={
            "name": "Held", "metric": "commission", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
            "prizes": [{"from_rank": 1, "to_rank": 1, "amount_fen": 30_000}]})
        assert r.status_code == 201, r.text
        campaign = r.json()
        a = distributor(live)
        c = login(live, invite_code=a.user["invite_code"])
        buy(live, c, create_product(ops, price_fen=9_000_000)["id"])  # A 900,000: first by far
        drain(live)
        with live.app.app_context():  # the hour passes; the hold does not
            db.session.get(Campaign, campaign["id"]).ends_at = datetime.now(UTC)
            db.session.commit()
        sweep(live)
        drain(live)
        assert requests.get(live.api(f"/campaigns/{campaign['id']}"), timeout=10).json()["status"] == "open"
        early = ops.post(f"/admin/campaigns/{campaign['id']}/close")
        assert early.status_code == 409 and early.json()["error"]["code"] == "CONFLICT", early.text

        with live.app.app_context():  # three days pass: the hold ends, the commission is released
            three_days = timedelta(days=3, seconds=2)
            commission = db.session.scalar(db.select(Commission).where(Commission.user_id == a.id))
            commission.created_at -= three_days
            commission.available_at = utcnow() - timedelta(seconds=1)
            db.session.execute(db.update(Payout).where(Payout.user_id == a.id)
                               .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
            row = db.session.get(Campaign, campaign["id"])
            row.starts_at, row.ends_at = start - three_days, datetime.now(UTC) - three_days + timedelta(seconds=1)
            db.session.commit()
        sweep(live)
        drain(live)
        sweep(live)
        drain(live)
        closed = requests.get(live.api(f"/campaigns/{campaign['id']}"), timeout=10).json()
        assert closed["status"] == "closed"
        assert (closed["items"][0]["user"]["id"], closed["items"][0]["score"], closed["items"][0]["prize_fen"]) \
            == (a.id, 900_000, 30_000)
    finally:
        set_settings(ops, hold_days=0)
