"""Users: an operator approves a pending distributor application from the list, rejects
another with a reason, opens a distributor and gives them their own (KOL) rates."""

from __future__ import annotations

import uuid
from urllib.parse import quote

from helpers import chain, distributor, login, set_settings
from playwright.sync_api import expect


def _pending(live, ops):
    set_settings(ops, mode="approval")
    user = login(live)
    r = user.post("/distributor/apply", json={"real_name": "Li Lei", "phone": "13800000000"})
    assert r.status_code == 200 and r.json()["status"] == "pending", r.text
    return user


def test_approve_and_reject_pending_applications_from_the_list(console, live, ops):
    first, second = _pending(live, ops), _pending(live, ops)
    op = console("operator")
    op.open("/users?distributor_status=pending")
    page = op.page
    page.locator(f"[data-test=status-{first.id}]", has_text="待审核").wait_for()
    page.locator(f"[data-test=status-{second.id}]", has_text="待审核").wait_for()
    op.shot("users-pending")

    page.click(f"[data-test=approve-{first.id}]")
    page.locator(".el-message-box").wait_for()
    page.locator(".el-message-box .el-button--primary").click()
    page.locator(".el-message--success").wait_for()
    page.locator(f"[data-test=status-{first.id}]").wait_for(state="detached")  # no longer pending
    assert first.get("/me").json()["is_distributor"] is True

    page.click(f"[data-test=reject-{second.id}]")
    dialog = page.locator(".el-dialog:visible")
    expect(page.locator("[data-test=reason-input]")).to_be_focused(timeout=3000)
    dialog.locator("[data-test=reason-confirm]").click()
    dialog.get_by_text("请填写原因").wait_for()  # a reason is required
    dialog.locator("[data-test=reason-input]").fill("phone number does not answer")
    dialog.locator("[data-test=reason-input]").press("Enter")
    page.locator(f"[data-test=status-{second.id}]").wait_for(state="detached")
    assert second.get("/me").json()["is_distributor"] is False

    op.open(f"/users?q={first.id}")
    page.locator(f"[data-test=status-{first.id}]", has_text="分销员").wait_for()
    op.shot("users")
    listed = op.api.get("/admin/users", params={"q": str(first.id)}).json()["items"]
    assert [u["distributor_status"] for u in listed if u["id"] == first.id] == ["approved"]
    assert op.api.get(f"/admin/users/{second.id}").json()["user"]["distributor_status"] != "pending"


def test_set_kol_rates_on_the_user_page(console, live, ops):
    user = _pending(live, ops)
    op = console("operator")
    op.open(f"/users/{user.id}")
    page = op.page
    page.locator("[data-test=user-status]", has_text="待审核").wait_for()
    page.click("[data-test=approve]")
    page.locator(".el-message-box .el-button--primary").click()
    page.locator("[data-test=user-status]", has_text="分销员").wait_for()

    page.click("[data-test=rates]")
    dialog = page.locator(".el-dialog:visible")
    expect(page.locator("[data-test=rate-level1]")).to_be_focused(timeout=3000)
    dialog.locator("[data-test=rate-level1]").fill("101")
    dialog.locator("[data-test=rates-submit]").click()
    dialog.get_by_text("0–100").wait_for()  # refused by the form
    dialog.locator("[data-test=rate-level1]").fill("15")
    dialog.locator("[data-test=rate-level2]").fill("7.5")
    op.shot("user-rates")
    dialog.locator("[data-test=rates-submit]").click()
    page.locator("[data-test=rate1]", has_text="15%").wait_for()
    assert "7.5%" in page.inner_text("[data-test=rate2]")
    op.shot("user-detail")

    detail = op.api.get(f"/admin/users/{user.id}").json()["user"]
    assert (detail["level1_bp_override"], detail["level2_bp_override"]) == (1500, 750)


def test_move_a_user_under_another_inviter(console, live, ops):
    old, new = distributor(live), distributor(live)
    user = login(live, invite_code=old.user["invite_code"])
    op = console("operator")
    op.open(f"/users/{user.id}")
    page = op.page
    page.locator("[data-test=inviter]", has_text=old.user["nickname"]).wait_for()
    page.click("[data-test=move]")
    dialog = page.locator(".el-dialog:visible")
    expect(page.locator("[data-test=move-target]")).to_be_focused(timeout=3000)
    dialog.locator("[data-test=move-target]").fill(str(new.id))
    dialog.locator("[data-test=move-submit]").click()
    dialog.get_by_text("请填写原因").wait_for()  # the reason is required
    dialog.locator("[data-test=move-reason]").fill("the customer asked")
    dialog.locator("[data-test=move-reason]").press("Enter")
    page.locator("[data-test=inviter]", has_text=new.user["nickname"]).wait_for()
    page.get_by_role("tab", name="绑定记录").click()
    page.locator("[data-test=bind-history-table] tbody tr", has_text="the customer asked").wait_for()
    op.shot("user-moved")

    detail = op.api.get(f"/admin/users/{user.id}").json()
    assert detail["user"]["inviter"]["id"] == new.id
    [last, *_] = op.api.get(f"/admin/users/{user.id}/bind-history").json()["items"]
    assert (last["new_inviter"]["id"], last["reason"], last["operator"]["username"]) == (new.id, "the customer asked",
                                                                                         op.username)


def test_find_a_distributor_by_invite_code_nickname_and_id_then_read_their_tree(console, live, ops):
    """The one search box of the list, from the keyboard (Enter searches), and the user
    page's tree and wallet: the figures the API gives."""
    a, b, c = chain(live)
    nickname = f"晶振张{uuid.uuid4().hex[:6]}"
    assert a.patch("/me", json={"nickname": nickname}).status_code == 200
    op = console("operator")
    op.open("/users")
    page = op.page
    box = page.locator("[data-test=filter-q]")
    for query in (a.user["invite_code"], nickname[:6], str(a.id)):
        box.fill(query)
        box.press("Enter")
        page.wait_for_url(lambda url, q=query: f"q={quote(q)}" in url)  # the search is in the address
        page.locator(f"[data-test=status-{a.id}]").wait_for()
        listed = op.api.get("/admin/users", params={"q": query}).json()["items"]
        assert a.id in [u["id"] for u in listed]
    op.shot("users-search")

    page.click(f"[data-test=open-{a.id}]")
    page.wait_for_url(f"**/admin/users/{a.id}")
    page.locator("[data-test=level1-count]", has_text="1").wait_for()
    assert page.inner_text("[data-test=level2-count]").strip() == "1"
    page.locator("[data-test=team-table] tbody tr", has_text=b.user["nickname"]).wait_for()
    tree = op.api.get(f"/admin/users/{a.id}/tree").json()
    assert (tree["level1"]["count"], tree["level2"]["count"]) == (1, 1)
    op.shot("user-tree")
    page.get_by_role("tab", name="钱包").click()
    page.locator("[data-test=wallet-available]").wait_for()
    op.shot("user-wallet")
