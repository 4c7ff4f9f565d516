"""Distributor levels (issue 16, part 1): upgrades at the exact threshold, downgrades
(保级) only at period end and after the grace, refunds counting, future commissions
only, sales-only conditions, the rates under the cap, the audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import buy, chain, create_product, drain, set_settings
from sqlalchemy import delete, select, update

from backend.auth.models import User
from backend.extensions import db
from backend.levels import jobs as level_jobs
from backend.levels import service as levels
from backend.levels.models import DistributorLevel, LevelChange
from backend.timeutil import utcnow


def _wipe(live) -> None:
    with live.app.app_context():
        db.session.execute(delete(LevelChange))
        db.session.execute(update(User).values(level_id=None, level_missed_periods=0, level_checked_period=None))
        db.session.execute(delete(DistributorLevel))
        db.session.commit()
        db.session.remove()


@pytest.fixture
def clean_levels(live, ops):
    """Levels are shop-wide: none before, none left after (other tests expect the shop's rates)."""
    _wipe(live)
    yield
    _wipe(live)
    set_settings(ops, level_grace_periods=0)


def _level(ops, **body) -> dict:
    r = ops.post("/admin/distributor-levels", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _evaluate(live, user_ids=None, **kwargs) -> dict:
    with live.app.app_context():
        stats = levels.evaluate(user_ids, **kwargs)
        db.session.commit()
        db.session.remove()
        return stats


def _state(live, user_id: int) -> tuple[str | None, int]:
    with live.app.app_context():
        user = db.session.get(User, user_id)
        name = db.session.scalar(select(DistributorLevel.name).where(DistributorLevel.id == user.level_id))
        missed = user.level_missed_periods
        db.session.remove()
        return name, missed


def _commissions(client) -> list[dict]:
    r = client.get("/me/commissions", params={"per_page": 100})
    assert r.status_code == 200, r.text
    return sorted(r.json()["items"], key=lambda c: c["id"])


def test_upgrade_exactly_at_the_threshold_and_only_later_orders_get_the_new_rates(live, ops, clean_levels):
    silver = _level(ops, rank=1, name="银牌", level1_bp=1500, level2_bp=600, window_days=30,
                    min_gmv_fen=10_000, min_customers=1)
    _level(ops, rank=2, name="金牌", level1_bp=2000, level2_bp=800, min_gmv_fen=10**9)
    a, b, c = chain(live)
    buy(live, c, create_product(ops, price_fen=9_999)["id"])
    drain(live)  # the credit batch, then the level job it queued after its commit
    drain(live)
    assert _state(live, b.id) == (None, 0)  # one fen below: stays
    mine = b.get("/me/level").json()
    assert mine["level"] is None and mine["next"]["level"]["name"] == "银牌"
    assert {x["measure"]: (x["current"], x["met"]) for x in mine["next"]["conditions"]} == {
        "gmv_fen": (9_999, False), "customers": (1, True), "team_gmv_fen": (9_999, True)}

    buy(live, c, create_product(ops, price_fen=1)["id"])  # exactly 10,000
    drain(live)
    # The 1-fen order earned no commission (rounded down), so no credit batch asked for
    # an evaluation: the nightly pass makes the upgrade.
    assert _state(live, b.id) == (None, 0)
    with live.app.app_context():
        stats = level_jobs.nightly(chunk=2)  # the whole pass, two distributors per transaction
        db.session.remove()
    assert stats["upgrades"] >= 1  # other tests' sellers may qualify too
    assert _state(live, b.id) == ("银牌", 0)
    assert _state(live, a.id) == (None, 0)  # a's own GMV is 0: team GMV alone is not enough
    assert b.get("/me/level").json()["level"]["id"] == silver["id"]

    buy(live, c, create_product(ops, price_fen=10_000)["id"])
    first, third = _commissions(b)  # the 1-fen order earned nothing (rounded down): no row
    assert (first["rate_bp"], first["rate_source"], first["amount_fen"]) == (1000, "default", 999)
    assert (third["rate_bp"], third["rate_source"], third["amount_fen"]) == (1500, "level:银牌", 1_500)
    # level 2 (a) has no level: the shop's default
    assert _commissions(a)[-1]["rate_source"] == "default"

    # Changing the level's rates affects only what comes after.
    r = ops.patch(f"/admin/distributor-levels/{silver['id']}", json={"level1_bp": 1800})
    assert r.status_code == 200 and r.json()["level1_bp"] == 1800, r.text
    buy(live, c, create_product(ops, price_fen=10_000)["id"])
    rows = _commissions(b)
    assert [x["amount_fen"] for x in rows] == [999, 1_500, 1_800]

    detail = ops.get(f"/admin/users/{b.id}").json()["distributor_level"]
    assert detail["level"]["name"] == "银牌"
    [change] = detail["history"]
    assert (change["reason"], change["from_level"], change["to_level"]) == ("upgrade", None, "银牌")
    assert (change["gmv_fen"], change["customers"], change["window_days"]) == (10_000, 1, 30)


def test_a_kol_rate_beats_the_level_rate(live, ops, clean_levels):
    _level(ops, rank=1, name="银牌", level1_bp=1500, level2_bp=600)  # no condition: every seller
    _a, b, c = chain(live)
    r = ops.put(f"/admin/users/{b.id}/rates", json={"level1_bp": 1200, "level2_bp": None})
    assert r.status_code == 200, r.text
    buy(live, c, create_product(ops, price_fen=1_000)["id"])
    drain(live)  # the credit batch queues its earners' evaluation after its commit; the job upgrades
    drain(live)
    assert _state(live, b.id) == ("银牌", 0)
    buy(live, c, create_product(ops, price_fen=1_000)["id"])
    assert [(x["rate_bp"], x["rate_source"]) for x in _commissions(b)] == [(1200, "kol"), (1200, "kol")]


def test_product_rates_beat_the_level_and_are_named(live, ops, clean_levels):
    _level(ops, rank=1, name="银牌", level1_bp=1500, level2_bp=600)
    _a, b, c = chain(live)
    buy(live, c, create_product(ops, price_fen=1_000)["id"])
    _evaluate(live, [b.id])
    buy(live, c, create_product(ops, price_fen=1_000, level1_bp=300)["id"])
    last = _commissions(b)[-1]
    assert (last["rate_bp"], last["rate_source"], last["amount_fen"]) == (None, "product", 30)


def test_a_refund_below_the_threshold_downgrades_only_at_period_end_after_the_grace(live, ops, clean_levels):
    set_settings(ops, level_grace_periods=1)
    _level(ops, rank=1, name="银牌", level1_bp=1500, level2_bp=600, window_days=366, min_gmv_fen=10_000)
    _a, b, c = chain(live)
    order = buy(live, c, create_product(ops, price_fen=10_000)["id"])
    now = utcnow()
    assert _evaluate(live, [b.id], now=now)["upgrades"] == 1
    r = ops.post(f"/admin/orders/{order['id']}/refund", json={"amount_fen": 1, "reason": "one fen back"})
    assert r.status_code == 201, r.text

    # Below the threshold now, but no downgrade before a period end…
    assert _evaluate(live, [b.id], now=now)["downgrades"] == 0
    assert _evaluate(live, [b.id], now=now, period_end=True) == {"evaluated": 1, "upgrades": 0, "downgrades": 0,
                                                                  "grace": 0}  # this month is not closed yet
    assert _state(live, b.id) == ("银牌", 0)
    # …the first month closing is within the grace (one period)…
    next_month = now + timedelta(days=32)
    assert _evaluate(live, [b.id], now=next_month, period_end=True)["grace"] == 1
    assert _evaluate(live, [b.id], now=next_month, period_end=True)["grace"] == 0  # once per month
    assert _state(live, b.id) == ("银牌", 1)
    # …the second one takes the level away.
    assert _evaluate(live, [b.id], now=next_month + timedelta(days=31), period_end=True)["downgrades"] == 1
    assert _state(live, b.id) == (None, 0)

    history = ops.get(f"/admin/users/{b.id}").json()["distributor_level"]["history"]
    assert [(h["reason"], h["from_level"], h["to_level"], h["gmv_fen"]) for h in history] == [
        ("downgrade", "银牌", None, 9_999), ("grace", "银牌", "银牌", 9_999), ("upgrade", None, "银牌", 10_000)]
    assert history[0]["period"] and history[0]["period"] != history[1]["period"]

    # A later order pays the shop's rate again; the level's commission keeps its own.
    buy(live, c, create_product(ops, price_fen=10_000)["id"])
    rows = _commissions(b)
    assert [x["rate_source"] for x in rows] == ["default", "default"]  # paid before the upgrade, and after


def test_meeting_the_conditions_at_period_end_keeps_the_level_and_clears_missed_periods(live, ops, clean_levels):
    set_settings(ops, level_grace_periods=2)
    _level(ops, rank=1, name="银牌", level1_bp=1500, level2_bp=600, window_days=366, min_gmv_fen=10_000)
    _a, b, c = chain(live)
    order = buy(live, c, create_product(ops, price_fen=10_000)["id"])
    now = utcnow()
    _evaluate(live, [b.id], now=now)
    ops.post(f"/admin/orders/{order['id']}/refund", json={"amount_fen": 10, "reason": "partial"})
    _evaluate(live, [b.id], now=now + timedelta(days=32), period_end=True)
    assert _state(live, b.id) == ("银牌", 1)
    buy(live, c, create_product(ops, price_fen=10)["id"])  # back at exactly 10,000
    _evaluate(live, [b.id], now=now + timedelta(days=63), period_end=True)
    assert _state(live, b.id) == ("银牌", 0)


def test_a_downgrade_goes_to_the_highest_level_still_met(live, ops, clean_levels):
    _level(ops, rank=1, name="银牌", level1_bp=1200, level2_bp=500, window_days=366, min_gmv_fen=5_000)
    _level(ops, rank=2, name="金牌", level1_bp=1500, level2_bp=600, window_days=366, min_gmv_fen=10_000)
    _a, b, c = chain(live)
    order = buy(live, c, create_product(ops, price_fen=10_000)["id"])
    now = utcnow()
    _evaluate(live, [b.id], now=now)
    assert _state(live, b.id) == ("金牌", 0)
    ops.post(f"/admin/orders/{order['id']}/refund", json={"amount_fen": 4_000, "reason": "part"})
    _evaluate(live, [b.id], now=now + timedelta(days=32), period_end=True)
    assert _state(live, b.id) == ("银牌", 0)


def test_level_validation_and_audit(live, ops, clean_levels):
    r = ops.post("/admin/distributor-levels", json={"rank": 1, "name": "超额", "level1_bp": 2500, "level2_bp": 600})
    assert r.status_code == 422 and r.json()["error"]["code"] == "LEVEL_RATES_OVER_CAP", r.text
    assert r.json()["error"]["details"]["cap_bp"] == 3000
    for field in ("min_invites", "min_team_members", "min_recruits", "min_downline"):
        r = ops.post("/admin/distributor-levels", json={"rank": 1, "name": "人头", "level1_bp": 100, "level2_bp": 50,
                                                        field: 10})
        assert r.status_code == 422 and r.json()["error"]["code"] == "HEADCOUNT_FIELD_REFUSED", (field, r.text)
    r = ops.post("/admin/distributor-levels", json={"rank": 1, "name": "银牌", "level1_bp": 100, "level2_bp": 50,
                                                    "min_gmv_fen": -1})
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR"
    level = _level(ops, rank=1, name="银牌", level1_bp=1500, level2_bp=600, min_customers=3)
    r = ops.post("/admin/distributor-levels", json={"rank": 1, "name": "金牌", "level1_bp": 100, "level2_bp": 50})
    assert r.status_code == 409 and r.json()["error"]["code"] == "LEVEL_EXISTS"
    r = ops.patch(f"/admin/distributor-levels/{level['id']}", json={"level2_bp": 1600})
    assert r.status_code == 422 and r.json()["error"]["code"] == "LEVEL_RATES_OVER_CAP"
    r = ops.put("/admin/settings/distribution", json={"cap_bp": 2000})  # 1500 + 600 would be over it
    assert r.status_code == 422 and r.json()["error"]["code"] == "LEVEL_RATES_OVER_CAP", r.text
    assert ops.get("/admin/settings/distribution").json()["cap_bp"] == 3000
    r = ops.patch(f"/admin/distributor-levels/{level['id']}", json={"min_members": 1})
    assert r.status_code == 422 and r.json()["error"]["code"] == "HEADCOUNT_FIELD_REFUSED"
    r = ops.patch("/admin/distributor-levels/999999", json={"level1_bp": 100})
    assert r.status_code == 404 and r.json()["error"]["code"] == "LEVEL_NOT_FOUND"
    r = ops.patch(f"/admin/distributor-levels/{level['id']}", json={"min_gmv_fen": 50_000})
    assert r.status_code == 200, r.text
    assert [x["name"] for x in ops.get("/admin/distributor-levels").json()["items"]] == ["银牌"]

    entries = ops.get("/admin/audit", params={"target_type": "distributor_level", "per_page": 100}).json()["items"]
    ours = [e for e in entries if e["target_id"] == str(level["id"]) and e["status_code"] in (200, 201)]
    assert [e["action"] for e in ours][:2] == ["admin_levels.update_level", "admin_levels.create_level"]
    assert ours[0]["before"] == {"min_gmv_fen": 0} and ours[0]["after"] == {"min_gmv_fen": 50_000}
    assert ours[1]["after"]["level1_bp"] == 1500


def test_no_level_condition_can_count_people():
    """The model has no column for a head count: only sales figures can be conditions."""
    from backend.levels.schemas import LevelCreateArgs

    assert {col.name for col in DistributorLevel.__table__.columns if col.name.startswith("min_")} == {
        "min_gmv_fen", "min_customers", "min_team_gmv_fen"}
    assert {name for name in LevelCreateArgs().fields if name.startswith("min_")} == {
        "min_gmv_fen", "min_customers", "min_team_gmv_fen"}


def test_the_cli_runs_the_nightly_pass(live, ops, clean_levels):
    _level(ops, rank=1, name="银牌", level1_bp=1500, level2_bp=600, min_gmv_fen=10**12)
    result = live.app.test_cli_runner().invoke(args=["fission", "levels-evaluate"])
    assert result.exit_code == 0, result.output
    assert "'upgrades': 0" in result.output and "'downgrades': 0" in result.output


def test_the_level_two_earner_is_paid_at_their_own_levels_level_two_rate(live, ops, clean_levels):
    """Team GMV counts level-2 orders: A, above B, reaches the level on B's customer's order."""
    _level(ops, rank=1, name="银牌", level1_bp=1500, level2_bp=700, min_team_gmv_fen=5_000)
    a, b, c = chain(live)
    buy(live, c, create_product(ops, price_fen=5_000)["id"])
    _evaluate(live, [a.id, b.id])
    assert _state(live, a.id) == ("银牌", 0) and _state(live, b.id) == ("银牌", 0)
    buy(live, c, create_product(ops, price_fen=10_000)["id"])
    first, later = _commissions(a)
    assert (first["level"], first["rate_bp"], first["rate_source"], first["amount_fen"]) == (2, 500, "default", 250)
    assert (later["level"], later["rate_bp"], later["rate_source"], later["amount_fen"]) == (2, 700, "level:银牌", 700)


def test_racing_evaluations_upgrade_once(live, ops, clean_levels):
    """The credit job's evaluation and the nightly pass at the same moment: the users'
    rows are locked, so the second sees the first's upgrade and writes no change."""
    from helpers import at_once_in_app

    from backend.transactions import unit_of_work

    _level(ops, rank=1, name="银牌", level1_bp=1500, level2_bp=600, min_gmv_fen=1_000)
    _a, b, c = chain(live)
    buy(live, c, create_product(ops, price_fen=1_000)["id"])

    def work(barrier):
        barrier.wait()
        with unit_of_work("test: racing evaluation"):
            return levels.evaluate([b.id])["upgrades"]

    results, errors = at_once_in_app(live, work)
    assert errors == [] and sorted(results) == [0, 1]
    with live.app.app_context():
        rows = db.session.scalars(select(LevelChange).where(LevelChange.user_id == b.id)).all()
        db.session.remove()
    assert [r.reason for r in rows] == ["upgrade"]


def test_evaluations_inside_the_gap_wait_for_the_sweeper_and_none_is_lost(live, ops, clean_levels):
    """With a gap (production's default), a credit batch inside it adds its earners to
    the set without a run; the sweeper's pass enqueues the run once the gap is over."""
    import dataclasses

    from helpers import sweep

    from backend.extensions import redis_client

    _level(ops, rank=1, name="银牌", level1_bp=1500, level2_bp=600, min_gmv_fen=1_500)
    _a, b, c = chain(live)
    config = live.app.config["FISSION"]
    live.app.config["FISSION"] = dataclasses.replace(config, level_evaluate_gap_ms=60_000)
    try:
        buy(live, c, create_product(ops, price_fen=1_000)["id"])
        drain(live)  # the credit batch, then the run it queued (it opened the gap)
        drain(live)
        assert _state(live, b.id) == (None, 0)  # 1,000 fen: below the level
        buy(live, c, create_product(ops, price_fen=1_000)["id"])
        drain(live)
        drain(live)
        assert _state(live, b.id) == (None, 0)  # inside the gap: queued, not yet evaluated
        with live.app.app_context():
            assert sweep(live)["levels_evaluate"] == 0  # the gap is still open
            redis_client().delete(f"{level_jobs.todo_key()}:gap")  # sixty seconds later
        assert sweep(live)["levels_evaluate"] == 1
        drain(live)
        assert _state(live, b.id) == ("银牌", 0)
        with live.app.app_context():
            assert redis_client().scard(level_jobs.todo_key()) == 0
    finally:
        live.app.config["FISSION"] = config
