"""Signing in: each role sees its own menu, the API refuses what the menu hides, and an
expired session is sent back to the login page with the reason."""

from __future__ import annotations

import requests
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from backend.auth.tokens import ADMIN_SALT

OPERATOR_PAGES = {"dashboard", "users", "orders", "products", "payouts", "settings", "leaderboards", "groups"}


def _menu(c) -> set[str]:
    return {el.get_attribute("data-test").removeprefix("menu-")
            for el in c.page.query_selector_all("[data-test^=menu-]")}


def test_each_role_sees_its_menu_and_the_api_agrees(console, live):
    admin = console("admin")
    assert {"accounts", "audit"} | OPERATOR_PAGES <= _menu(admin)
    admin.shot("menu")

    operator = console("operator")
    assert _menu(operator) >= OPERATOR_PAGES
    assert "accounts" not in _menu(operator)

    finance = console("finance")
    menu = _menu(finance)
    assert {"dashboard", "orders"} <= menu
    assert not {"users", "products", "settings", "accounts"} & menu
    finance.open("/users")
    finance.page.wait_for_selector("[data-test=forbidden]")
    finance.shot("forbidden")
    # the API refuses the finance account too, not only the menu
    r = finance.api.put("/admin/settings/distribution", json={"level1_bp": 1200})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "FORBIDDEN"


def test_wrong_password_is_said_on_the_page(console, live, browser):
    page = browser.new_page()
    try:
        page.goto(f"{live.url}/admin/")
        page.wait_for_selector("#login-username")  # not signed in: the login page
        page.fill("#login-username", "admin")
        page.fill("#login-password", "not-the-password")
        page.keyboard.press("Enter")  # the form submits from the keyboard
        error = page.wait_for_selector("[data-test=login-error]")
        assert "INVALID_CREDENTIALS" in error.inner_text()
    finally:
        page.close()


def test_an_expired_token_sends_the_operator_back_to_login(console, live):
    c = console("operator")
    c.open("/")

    class SignedLongAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return super().get_timestamp() - 86_400 - live.app.config["FISSION"].token_ttl_seconds

    expired = URLSafeTimedSerializer(live.app.config["SECRET_KEY"], salt=ADMIN_SALT,
                                     signer=SignedLongAgo).dumps({"aid": 1})
    r = requests.get(live.api("/admin/settings/distribution"), headers={"Authorization": f"Bearer {expired}"},
                     timeout=30)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "TOKEN_EXPIRED"
    # the console holds that token now: its next call is refused and it says why
    c.page.evaluate("""t => {
        const s = JSON.parse(localStorage.getItem('fission.console.session'));
        s.token = t; localStorage.setItem('fission.console.session', JSON.stringify(s)); }""", expired)
    c.open("/settings/distribution")
    c.page.wait_for_selector("[data-test=expired]")
    assert "/admin/login" in c.page.url
    c.shot("expired")
