"""The targets page (业绩目标): an admin creates a level's monthly plan in the dialog (a
tier set that does not increase refused first, with its translated code), a distributor
of that level sells in the month that closed last, the close waits on an order held for
risk review (said on the page), then closes from the page and the bonus row shows the
figures; an operator reads the page. Photographed in zh-CN and English."""

from __future__ import annotations

import pytest
from helpers import buy, create_product, distributor, drain, login
from sqlalchemy import delete, update
from test_targets import _into_last_month, _last_month, _level, _sql, _wipe

from backend.auth.models import User
from backend.extensions import db
from backend.risk.models import RiskReview


@pytest.fixture
def clean_targets(live):
    _wipe(live)
    yield
    _wipe(live)


def _english(c) -> None:
    c.page.evaluate("() => localStorage.setItem('fission.console.locale', 'en')")
    c.page.reload()
    c.page.wait_for_load_state("networkidle")


def _settled(page) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => !document.querySelector('.el-loading-mask')")


def _tiers(page, *rows: tuple[str, str]) -> None:
    for i, (start, bonus) in enumerate(rows):
        if page.locator(f"[data-test=tier-from-{i}]").count() == 0:
            page.click("[data-test=tier-add]")
        for name, value in (("from", start), ("bonus", bonus)):
            box = page.locator(f"[data-test=tier-{name}-{i}]")
            box.fill(value)
            box.press("Tab")


def _pick_level(page, name: str) -> None:
    page.click("#plan-level", force=True)
    page.locator(".el-select-dropdown__item:visible", has_text=name).first.click()


def test_an_admin_plans_a_target_closes_the_month_and_sees_the_bonus(console, live, ops, clean_targets):
    level_id = _level(live, ops)
    level_name = next(lv["name"] for lv in ops.get("/admin/distributor-levels").json()["items"] if lv["id"] == level_id)
    seller = distributor(live)
    _sql(live, update(User).where(User.id == seller.id).values(level_id=level_id))

    boss = console("admin")
    boss.open("/targets")
    page = boss.page
    page.locator("[data-test=plans-table]", has_text="还没有目标方案").wait_for()
    page.click("[data-test=plan-new]")
    dialog = page.locator("[data-test=plan-dialog]")
    dialog.wait_for()
    _pick_level(page, level_name)
    page.locator("#plan-target").fill("100")
    # tiers that go down: the API refuses them, its code in the operator's language
    _tiers(page, ("120", "2"), ("100", "1"))
    page.click("[data-test=plan-submit]")
    error = page.locator("[data-test=plan-error]")
    error.wait_for()
    assert "递增" in error.inner_text() and "TARGET_TIERS_INVALID" in error.inner_text()
    assert boss.api.get("/admin/target-plans").json()["items"] == []
    # a bonus over 50 % is refused before it is sent
    _tiers(page, ("100", "60"))
    dialog.locator(".el-form-item__error", has_text="0–50").wait_for()
    boss.shot("targets-plan-refused")

    _tiers(page, ("100", "1"), ("120", "2"))
    page.click("[data-test=plan-submit]")
    dialog.wait_for(state="hidden")
    [plan] = boss.api.get("/admin/target-plans").json()["items"]
    assert (plan["level_id"], plan["user_id"], plan["period_key"], plan["target_fen"]) == (level_id, None, None, 10_000)
    assert plan["tiers"] == [{"attainment_bp": 10_000, "bonus_bp": 100}, {"attainment_bp": 12_000, "bonus_bp": 200}]
    row = page.locator("[data-test=plans-table] .el-table__body tr", has=page.locator(f"[data-test=plan-{plan['id']}]"))
    assert level_name in row.inner_text() and "¥100.00" in row.inner_text() and "≥ 120% → +2%" in row.inner_text()

    # paid sales in the month that closed last: 80 + 40 yuan, and 30 held for risk review
    orders = [buy(live, login(live, invite_code=seller.user["invite_code"]), create_product(ops, price_fen=fen)["id"])
              for fen in (8_000, 4_000, 3_000)]
    drain(live)
    _into_last_month(live, [o["id"] for o in orders])
    with live.app.app_context():
        review = RiskReview(order_id=orders[2]["id"], distributor_id=seller.id, status="pending", score=60,
                            signals=["second_account"], evidence={})
        db.session.add(review)
        db.session.commit()
        review_id = review.id
        db.session.remove()

    try:
        boss.open("/targets")
        month = _last_month()
        assert page.locator("#targets-month").input_value() == month
        page.locator("[data-test=bonuses-table]", has_text="尚未结算").wait_for()
        page.click("[data-test=month-close]")
        page.locator(".el-message-box__btns .el-button--primary").click()
        answer = page.locator("[data-test=close-result]")
        answer.wait_for()
        assert "1 笔订单待风控审核" in answer.inner_text() and "TARGET_PERIOD_NOT_DUE" in answer.inner_text()
        boss.shot("targets-waiting-on-reviews")

        # the held order rejected (a fraudulent sale earns no bonus), the month closes
        assert ops.post(f"/admin/risk/reviews/{review_id}/reject", json={"note": "self-referral"}).status_code == 200
        page.click("[data-test=month-close]")
        page.locator(".el-message-box__btns .el-button--primary").click()
        page.locator("[data-test=close-result]", has_text="已结算").wait_for()
        assert "1 位分销员" in answer.inner_text() and "¥2.40" in answer.inner_text()
        bonus = page.locator("[data-test=bonuses-table] .el-table__body tr",
                             has=page.locator(f"[data-test=bonus-{seller.id}]"))
        bonus.wait_for()
        _settled(page)
        text = bonus.inner_text()
        # 12,000 fen net of 10,000 target: 120 % → the 2 % tier on the whole 120 yuan
        for figure in ("¥100.00", "¥120.00", "120%", "≥ 120% → +2%", "¥2.40", "已发放"):
            assert figure in text, (figure, text)
        assert page.locator("[data-test=month-close]").is_disabled()
        drain(live)
        mine = seller.get("/me/targets", params={"period": month}).json()
        assert (mine["closed"], mine["achieved_fen"], mine["bonus_fen_so_far"]) == (True, 12_000, 240)
        boss.shot("targets-closed")

        _english(boss)
        assert "Targets & incentives" in page.locator("h1").inner_text()
        page.locator("[data-test=bonuses-table] .el-table__body tr", has_text="Paid").wait_for()
        _settled(page)
        boss.shot("targets-en")
        page.click("[data-test=plan-new]")
        dialog.wait_for()
        _pick_level(page, level_name)
        page.locator("#plan-target").fill("100")
        _tiers(page, ("120", "2"), ("100", "1"))
        page.click("[data-test=plan-submit]")
        page.locator("[data-test=plan-error]", has_text="TARGET_TIERS_INVALID").wait_for()
        assert "increas" in page.locator("[data-test=plan-error]").inner_text()
        boss.shot("targets-en-plan-refused")
        page.keyboard.press("Escape")

        # an operator reads plans and results, and changes nothing
        op = console("operator")
        op.open("/targets")
        op.page.locator(f"[data-test=bonus-{seller.id}]").wait_for()
        assert op.page.locator("[data-test=plan-new]").count() == 0
        assert op.page.locator("[data-test=month-close]").count() == 0
        _settled(op.page)
        op.shot("targets")
    finally:
        _sql(live, delete(RiskReview).where(RiskReview.id == review_id))
