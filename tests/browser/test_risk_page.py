"""The risk review page (风控审核): orders held for a second account on the distributor's
device are in the queue with their evidence; an operator approves one (the commissions
reach the wallets) and rejects another with a reason (reversed), both then in the
decided tab with who decided; a distributor under review is cleared; an admin changes a
threshold. Photographed in zh-CN and English."""

from __future__ import annotations

import pytest
from helpers import buy, create_product, distributor, drain
from playwright.sync_api import expect
from sqlalchemy import delete
from test_risk_reviews import held_order, wallet
from test_risk_signals import DEFAULTS, device, login_with, review_of

from backend.extensions import db
from backend.risk.models import DistributorWatch


@pytest.fixture
def risk_defaults(live, ops):
    assert ops.put("/admin/settings/risk", json=DEFAULTS).status_code == 200
    yield
    ops.put("/admin/settings/risk", json=DEFAULTS)
    with live.app.app_context():
        db.session.execute(delete(DistributorWatch))
        db.session.commit()
        db.session.remove()


def _english(c) -> None:
    c.page.evaluate("() => localStorage.setItem('fission.console.locale', 'en')")
    c.page.reload()
    c.page.wait_for_load_state("networkidle")


def _settled(page) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => !document.querySelector('.el-loading-mask')")


def _tab(page, text: str) -> None:
    page.locator("[data-test=risk-tabs] .el-tabs__item", has_text=text).click()


def _row(page, table: str, review_id: int):
    return page.locator(f"[data-test={table}] .el-table__body tr",
                        has=page.locator(f"[data-test=review-{review_id}]"))


def _watch(live, user_id: int) -> None:
    """What the nightly pass leaves for a distributor whose customers buy and refund in a loop."""
    with live.app.app_context():
        db.session.add(DistributorWatch(user_id=user_id, under_review=True, score=50, signals=["refund_loop"],
                                        evidence={"refund_loop": {"refunded_orders": 6, "customers": 2, "days": 7}}))
        db.session.commit()
        db.session.remove()


def test_an_operator_approves_and_rejects_held_orders_and_an_admin_changes_a_rule(console, live, ops, risk_defaults):
    a1, b1, c1, order1, review1 = held_order(live, ops, price_fen=10_000)
    a2, b2, _c2, order2, review2 = held_order(live, ops, price_fen=20_000)
    shared = review1["evidence"]["second_account"]["shared"][0]["value"]

    op = console("operator")
    op.open("/risk")
    page = op.page
    row = _row(page, "pending-table", review1["id"])
    row.wait_for()
    text = row.inner_text()
    # the evidence as a person reads it: which fact, its value, with whom; the chain and the held amount
    assert "疑似自购小号" in text and "同一设备" in text and shared in text and f"#{b1.id}" in text
    assert f"#{c1.id}" in text and f"#{a1.id}" in text and "¥15.00" in text and "¥100.00" in text
    assert "风险分 60" in text
    assert "¥30.00" in _row(page, "pending-table", review2["id"]).inner_text()
    _settled(op.page)
    op.shot("risk-queue")

    # approve the first, with a note: the commissions are released to the wallets
    row.locator(f"[data-test=approve-{review1['id']}]").click()
    dialog = page.locator("[data-test=reason-dialog]")
    dialog.wait_for()
    page.fill("[data-test=reason-input]", "same family, checked")
    page.click("[data-test=reason-confirm]")
    page.locator(".el-message--success", has_text=f"订单 #{order1['id']} 已通过").first.wait_for()
    row.wait_for(state="detached")
    drain(live)
    assert (wallet(b1)["available_fen"], wallet(b1)["pending_fen"]) == (1_000, 0)
    assert wallet(a1)["available_fen"] == 500

    # reject the second: a reason is required, then the commissions are reversed
    _row(page, "pending-table", review2["id"]).locator(f"[data-test=reject-{review2['id']}]").click()
    dialog.wait_for()
    page.click("[data-test=reason-confirm]")
    dialog.locator(".el-form-item__error", has_text="请填写原因").wait_for()
    page.fill("[data-test=reason-input]", "self-referral")
    page.click("[data-test=reason-confirm]")
    page.locator(".el-message--success", has_text=f"订单 #{order2['id']} 已驳回").first.wait_for()
    _row(page, "pending-table", review2["id"]).wait_for(state="detached")
    drain(live)
    for client in (a2, b2):
        assert wallet(client)["pending_fen"] == 0 and wallet(client)["available_fen"] == 0
    rejected = op.api.get("/admin/risk/reviews", params={"status": "rejected", "per_page": 100}).json()["items"]
    assert next(r for r in rejected if r["id"] == review2["id"])["note"] == "self-referral"

    # both in the decided tab, with who decided and the note
    _tab(page, "已处理")
    done = _row(page, "decided-table", review1["id"])
    done.wait_for()
    assert op.username in done.inner_text() and "same family, checked" in done.inner_text()
    assert "已通过" in done.inner_text()
    _settled(op.page)
    op.shot("risk-decided-approved")
    page.locator("[data-test=decided-status] label", has_text="已驳回").click()
    done = _row(page, "decided-table", review2["id"])
    done.wait_for()
    assert op.username in done.inner_text() and "self-referral" in done.inner_text() and "已驳回" in done.inner_text()
    assert "¥0.00" in done.inner_text()  # what is left of the commission after the reversal
    _settled(op.page)
    op.shot("risk-decided-rejected")

    # a distributor under review, cleared
    _watch(live, b1.id)
    _tab(page, "分销员风险")
    watch = page.locator("[data-test=watch-table] .el-table__body tr", has=page.locator(f"[data-test=watch-{b1.id}]"))
    watch.wait_for()
    assert "刷单退款循环" in watch.inner_text() and "2 位复购退款客户在 7 天内买后退款 6 单" in watch.inner_text()
    assert b1.user["nickname"] in watch.inner_text()
    _settled(op.page)
    op.shot("risk-distributors")
    watch.locator(f"[data-test=clear-{b1.id}]").click()
    page.locator(".el-message-box__btns .el-button--primary").click()
    page.locator(".el-message--success", has_text=f"#{b1.id} 已解除").first.wait_for()
    watch.wait_for(state="detached")
    assert all(w["user_id"] != b1.id for w in op.api.get("/admin/risk/distributors").json()["items"])

    # operators read the rules; changing them is an admin's
    _tab(page, "规则设置")
    page.locator("[data-test=risk-settings]", has_text="仅管理员可修改").wait_for()
    assert page.locator("[data-test=risk-settings-save]").count() == 0
    _settled(op.page)
    op.shot("risk-settings-operator")

    boss = console("admin")
    boss.open("/risk")
    _tab(boss.page, "规则设置")
    binds = boss.page.locator("#risk-bind_farm_binds")
    binds.wait_for()
    expect(binds).to_have_value("5")  # the settings arrive after the field is drawn: wait for them
    binds.fill("7")
    binds.press("Tab")
    boss.page.locator("#risk-refund_after_payout_rate_bp").fill("25")
    boss.page.locator("#risk-refund_after_payout_rate_bp").press("Tab")
    boss.page.click("[data-test=risk-settings-save]")
    boss.page.locator(".el-message--success", has_text="风控规则已保存").first.wait_for()
    stored = boss.api.get("/admin/settings/risk").json()
    assert (stored["bind_farm_binds"], stored["refund_after_payout_rate_bp"]) == (7, 2500)
    assert stored["second_account"] is True and stored["refund_loop_days"] == 7  # the others kept theirs
    _settled(boss.page)
    boss.shot("risk-settings")

    _english(boss)
    assert "Risk review" in boss.page.locator("h1").inner_text()
    _tab(boss.page, "Rules")
    boss.page.locator("[data-test=risk-settings]", has_text="Bind farm").wait_for()
    _settled(boss.page)
    boss.shot("risk-settings-en")

    _english(op)
    _tab(page, "Decided")
    page.locator("[data-test=decided-status] label", has_text="Approved").click()
    done = _row(page, "decided-table", review1["id"])
    done.wait_for()
    assert "Same device" in done.inner_text() and "shared with user" in done.inner_text()
    assert f"{b1.user['nickname']} #{b1.id}" in done.inner_text()
    _settled(op.page)
    op.shot("risk-decided-en")


def test_a_bind_farm_is_held_with_its_evidence_in_english(console, live, ops, risk_defaults):
    assert ops.put("/admin/settings/risk", json={"bind_farm_binds": 3, "bind_farm_minutes": 10}).status_code == 200
    product = create_product(ops, price_fen=10_000)
    b = distributor(live)
    farm_device = device()
    farmed = [login_with(live, device_id=farm_device, invite_code=b.user["invite_code"]) for _ in range(3)]
    orders = [buy(live, c, product["id"]) for c in farmed]
    drain(live)
    review = review_of(ops, orders[0]["id"])
    assert review["signals"] == ["bind_farm"]

    op = console("operator")
    _english(op)
    op.open("/risk")
    row = _row(op.page, "pending-table", review["id"])
    row.wait_for()
    text = row.inner_text()
    assert "Bind farm" in text and f"device {farm_device}" in text and f"inviter {b.user['nickname']} #{b.id}" in text
    assert "Risk score 50" in text and "¥10.00" in text
    _settled(op.page)
    op.shot("risk-queue-en")
