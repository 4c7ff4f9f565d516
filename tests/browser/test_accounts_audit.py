"""Admin accounts: an admin creates a finance account through the page, it signs in, gets a
new password, is disabled, and its next call is refused. The audit log records it all."""

from __future__ import annotations

import uuid

import requests


def _login(live, username: str, password: str) -> requests.Response:
    return requests.post(live.api("/admin/auth/login"), json={"username": username, "password": password}, timeout=30)


def _confirm(page) -> None:
    page.locator(".el-message-box__btns .el-button--primary").click()


def test_an_admin_creates_a_finance_account_then_disables_it(console, live, browser):
    admin = console("admin")
    admin.open("/accounts")
    username, password = f"fin-{uuid.uuid4().hex[:6]}", "finance-pass-123"

    admin.page.click("[data-test=account-new]")
    admin.page.fill("#account-username", username)
    admin.page.locator("[data-test=account-role-new]").get_by_text("财务").click()
    admin.page.fill("#account-password", "short")
    admin.page.fill("#account-confirm", "short")
    admin.page.click("[data-test=account-submit]")
    admin.page.wait_for_selector("[data-test=account-dialog] .el-form-item__error")  # under 10 characters: refused here
    admin.page.fill("#account-password", password)
    admin.page.fill("#account-confirm", password)
    admin.page.press("#account-confirm", "Enter")
    admin.page.wait_for_selector(".el-message--success")
    row = admin.page.locator("[data-test=accounts-table] .el-table__body tr", has_text=username)
    row.wait_for()
    account = next(a for a in admin.api.get("/admin/accounts", params={"per_page": 100}).json()["items"]
                   if a["username"] == username)
    assert account["role"] == "finance" and account["active"] is True

    # the new account signs in through the login form and sees the finance menu
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(f"{live.url}/admin/login")
        page.fill("#login-username", username)
        page.fill("#login-password", password)
        page.press("#login-password", "Enter")
        page.wait_for_selector("[data-test=who]")
        assert "财务" in page.locator("[data-test=who]").inner_text()
        assert page.locator("[data-test=menu-accounts]").count() == 0
        token = page.evaluate("JSON.parse(localStorage.getItem('fission.console.session')).token")
        assert requests.get(live.api("/admin/dashboard"), headers={"Authorization": f"Bearer {token}"},
                            timeout=30).status_code == 200

        # a new password: the old one stops working, the new one signs in
        row.locator("[data-test=account-password]").click()
        admin.page.fill("#pw-password", "another-pass-456")
        admin.page.fill("#pw-confirm", "another-pass-456")
        # wait for the API's answer itself: the account's earlier success message may still show
        with admin.page.expect_response(lambda r: r.url.endswith("/password") and r.request.method == "POST") as sent:
            admin.page.click("[data-test=password-submit]")
        assert sent.value.status == 200
        assert _login(live, username, password).status_code == 401
        assert _login(live, username, "another-pass-456").status_code == 200

        # disabled: the tag says so, the API refuses the account's token and its sign-in
        row.locator("[data-test=account-disable]").click()
        _confirm(admin.page)
        row.locator("[data-test=account-active]", has_text="已停用").wait_for()
        admin.shot("accounts")
        r = requests.get(live.api("/admin/dashboard"), headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert r.status_code in (401, 403), r.text
        assert _login(live, username, "another-pass-456").status_code in (401, 403)
        # the disabled account's open console is refused at its next call: back to the login page
        page.goto(f"{live.url}/admin/")
        page.wait_for_selector("#login-username")
        assert "/admin/login" in page.url
    finally:
        context.close()

    # the audit log has the account's creation, password and disabling
    entries = admin.api.get("/admin/audit", params={"target_id": str(account["id"])}).json()["items"]
    actions = [e["action"] for e in entries]
    assert any(a.endswith("update_account") for a in actions) and any(a.endswith("set_password") for a in actions)


def test_an_admin_cannot_disable_their_own_account(console):
    admin = console("admin")
    admin.open("/accounts")
    row = admin.page.locator("[data-test=accounts-table] .el-table__body tr", has_text=admin.username)
    row.wait_for()
    assert row.locator("[data-test=account-disable]").is_disabled()
    me = next(a for a in admin.api.get("/admin/accounts", params={"per_page": 100}).json()["items"]
              if a["username"] == admin.username)
    r = admin.api.patch(f"/admin/accounts/{me['id']}", json={"active": False})
    assert r.status_code == 409 and r.json()["error"]["code"] == "CANNOT_CHANGE_OWN_ACCOUNT"


def test_the_audit_log_is_searchable(console, ops):
    c = console("operator")
    code = ops.post("/admin/community/live-codes", json={"name": f"audit-{uuid.uuid4().hex[:6]}"}).json()
    c.open("/audit")
    c.page.fill("#audit-q", "live-codes")
    c.page.click("[data-test=audit-search]")
    assert "q=live-codes" in c.page.url  # the filters live in the URL
    row = c.page.locator("[data-test=audit-table] .el-table__body > tbody > tr", has_text="create_live_code").first
    row.wait_for()
    api = c.api.get("/admin/audit", params={"q": "live-codes"}).json()
    assert api["total"] >= 1 and api["items"][0]["action"].endswith("create_live_code")
    assert code["id"]
    c.shot("audit")
