"""The distributor levels page: an admin creates a level, the rates over the cap come back
as a translated error in the dialog, the level is edited; an operator reads the page; the
user detail shows a distributor's level, its progress and its history. Photographed in
zh-CN and English."""

from __future__ import annotations

import pytest
from helpers import buy, chain, create_product, drain, set_settings
from sqlalchemy import delete, update

from backend.auth.models import User
from backend.extensions import db
from backend.levels import service as levels
from backend.levels.models import DistributorLevel, LevelChange


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


def _fill(page, **fields) -> None:
    for name, value in fields.items():
        box = page.locator(f"#level-{name}")
        box.fill(str(value))
        box.press("Tab")


def _row(page, text: str):
    return page.locator("[data-test=levels-table] .el-table__body tr", has_text=text)


def _english(c) -> None:
    c.page.evaluate("() => localStorage.setItem('fission.console.locale', 'en')")
    c.page.reload()
    c.page.wait_for_load_state("networkidle")


def test_an_admin_creates_a_level_sees_the_cap_refused_and_edits_it(console, live, ops, clean_levels):
    c = console("admin")
    c.open("/distributor-levels")
    page = c.page
    page.locator("[data-test=levels-table]", has_text="还没有等级").wait_for()
    assert "人数" in page.locator("[data-test=levels-rules]").inner_text()  # sales only, said up front

    page.click("[data-test=level-new]")
    dialog = page.locator("[data-test=level-dialog]")
    dialog.wait_for()
    _fill(page, name="银牌", level1="25", level2="6", **{"min-gmv": "1000", "min-team-gmv": "5000"})
    page.locator("#level-min-customers").fill("3")
    page.click("[data-test=level-submit]")
    error = page.locator("[data-test=level-error]")
    error.wait_for()
    # the API's code, in the operator's language, next to what they typed
    assert "超过佣金上限" in error.inner_text() and "LEVEL_RATES_OVER_CAP" in error.inner_text()
    assert c.api.get("/admin/distributor-levels").json()["items"] == []
    c.shot("levels-over-cap")

    _fill(page, level1="15", level2="6")
    page.click("[data-test=level-submit]")
    page.locator(".el-message--success").wait_for()
    dialog.wait_for(state="hidden")
    [stored] = c.api.get("/admin/distributor-levels").json()["items"]
    assert (stored["name"], stored["level1_bp"], stored["level2_bp"]) == ("银牌", 1500, 600)
    assert (stored["min_gmv_fen"], stored["min_customers"], stored["min_team_gmv_fen"]) == (100_000, 3, 500_000)
    assert stored["window_days"] == 30 and stored["rank"] == 0
    row = page.locator("[data-test=levels-table] .el-table__body tr", has_text="银牌")
    assert "15%" in row.inner_text() and "6%" in row.inner_text() and "¥1,000.00" in row.inner_text()

    # a second level, then the first edited: its rank clashing is refused, translated
    page.click("[data-test=level-new]")
    dialog.wait_for()
    assert page.locator("#level-rank").input_value() == "1"  # the next free rank
    _fill(page, name="金牌", level1="20", level2="8", **{"min-gmv": "10000"})
    page.click("[data-test=level-submit]")
    page.locator("[data-test=levels-table] .el-table__body tr", has_text="金牌").wait_for()
    dialog.wait_for(state="hidden")

    _row(page, "银牌").locator("[data-test=level-edit]").click()
    dialog.wait_for()
    assert page.locator("#level-name").input_value() == "银牌"
    _fill(page, rank="1")
    page.click("[data-test=level-submit]")
    page.locator("[data-test=level-error]", has_text="已存在").wait_for()
    _fill(page, rank="0", level1="16.5", window="60")
    page.click("[data-test=level-submit]")
    dialog.wait_for(state="hidden")
    page.locator("[data-test=levels-table] .el-table__body tr", has_text="16.5%").wait_for()
    silver = next(lv for lv in c.api.get("/admin/distributor-levels").json()["items"] if lv["name"] == "银牌")
    assert (silver["level1_bp"], silver["window_days"], silver["rank"]) == (1650, 60, 0)
    entry = c.api.get("/admin/audit", params={"action": "admin_levels.update_level"}).json()["items"][0]
    assert entry["before"]["level1_bp"] == 1500 and entry["after"]["level1_bp"] == 1650

    # the grace (保级) is the shop's setting, saved from here
    page.locator("#levels-grace").fill("2")
    page.locator("#levels-grace").press("Tab")
    page.click("[data-test=levels-grace-save]")
    page.locator(".el-message--success", has_text="2").wait_for()
    assert c.api.get("/admin/settings/distribution").json()["level_grace_periods"] == 2
    c.shot("levels")

    _english(c)
    assert "Distributor levels" in page.locator("h1").inner_text()
    _row(page, "银牌").locator("[data-test=level-edit]").click()
    _fill(page, level1="30")
    page.click("[data-test=level-submit]")
    page.locator("[data-test=level-error]", has_text="commission cap").wait_for()
    c.shot("levels-en-over-cap")
    page.keyboard.press("Escape")
    c.shot("levels-en")


def test_the_user_detail_shows_the_level_its_progress_and_history(console, live, ops, clean_levels):
    silver = ops.post("/admin/distributor-levels", json={"rank": 1, "name": "银牌", "level1_bp": 1500, "level2_bp": 600,
                                                         "min_gmv_fen": 10_000, "min_customers": 1})
    assert silver.status_code == 201, silver.text
    gold = ops.post("/admin/distributor-levels", json={"rank": 2, "name": "金牌", "level1_bp": 2000, "level2_bp": 800,
                                                       "min_gmv_fen": 50_000, "min_customers": 2})
    assert gold.status_code == 201, gold.text
    _a, b, c = chain(live)
    buy(live, c, create_product(ops, price_fen=12_000)["id"])
    drain(live)
    with live.app.app_context():
        levels.evaluate([b.id])
        db.session.commit()
        db.session.remove()

    op = console("operator")
    op.open(f"/users/{b.id}")
    page = op.page
    page.locator("[data-test=user-tabs] .el-tabs__item", has_text="等级").click()
    panel = page.locator("[data-test=user-level]")
    panel.wait_for()
    assert page.locator("[data-test=user-level-name]").inner_text() == "银牌"
    progress = page.locator("[data-test=user-level-progress]").inner_text()
    assert "金牌" in page.locator("[data-test=user-level]").inner_text()
    assert "¥500.00" in progress and "¥120.00" in progress  # 50,000 fen required, 12,000 now
    history = page.locator("[data-test=user-level-history] .el-table__body tr")
    assert history.count() == 1
    assert "升级" in history.first.inner_text() and "无等级 → 银牌" in history.first.inner_text()
    op.shot("user-level")

    # an operator reads the levels page without the buttons that change it
    op.open("/distributor-levels")
    page.locator("[data-test=levels-table]", has_text="金牌").wait_for()
    assert page.locator("[data-test=level-new]").count() == 0
    assert page.locator("[data-test=level-edit]").count() == 0

    _english(op)
    op.open(f"/users/{b.id}")
    page.locator("[data-test=user-tabs] .el-tabs__item", has_text="Level").click()
    page.locator("[data-test=user-level-history]", has_text="Upgrade").wait_for()
    op.shot("user-level-en")
