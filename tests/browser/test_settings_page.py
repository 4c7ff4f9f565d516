"""The distribution settings page: an admin changes a rate (shown in percent, saved in bp)
and the API has it; a save over someone else's change is refused and says so; an operator
reads the settings without being able to change them."""

from __future__ import annotations

from helpers import set_settings


def _rate(c, field: str, percent: str) -> None:
    box = c.page.locator(f"#settings-{field}")
    box.fill(percent)
    box.press("Tab")  # the number box takes its value on change


def test_an_admin_changes_a_rate_and_the_api_has_it(console, ops):
    c = console("admin")
    c.open("/settings/distribution")
    version = c.api.get("/admin/settings/distribution").json()["version"]
    assert c.page.locator("[data-test=settings-version]").inner_text().endswith(str(version))
    assert "二级" in c.page.locator("[data-test=settings-levels]").inner_text()  # a fixed fact, not a field
    try:
        _rate(c, "level1", "12.5")
        assert c.page.locator("[data-test=settings-level1-bp]").inner_text() == "= 1250 bp"
        c.page.click("[data-test=settings-save]")
        c.page.wait_for_selector(".el-message--success")
        c.page.locator("[data-test=settings-version]").filter(has_text=str(version + 1)).wait_for()
        stored = c.api.get("/admin/settings/distribution").json()
        assert stored["level1_bp"] == 1250 and stored["version"] == version + 1
        assert stored["level2_bp"] == 500  # only the changed field was sent
        c.shot("settings")

        # the audit log has the change, before → after, on its page and in the API
        entry = c.api.get("/admin/audit", params={"action": "admin_commission.write_settings"}).json()["items"][0]
        assert entry["admin_username"] == c.username
        assert entry["before"]["level1_bp"] == 1000 and entry["after"]["level1_bp"] == 1250
        assert "level2_bp" not in entry["after"]  # only what changed
        c.open("/audit")
        c.page.fill("#audit-q", "write_settings")
        c.page.press("#audit-q", "Enter")
        row = c.page.locator("[data-test=audit-table] .el-table__body > tbody > tr", has_text=c.username).first
        row.wait_for()
        row.locator(".el-table__expand-icon").click()
        diff = c.page.locator("[data-test=audit-diff]").first
        diff.wait_for()
        assert "level1_bp" in diff.inner_text() and "1000" in diff.inner_text() and "1250" in diff.inner_text()
        c.shot("audit")
    finally:
        set_settings(ops, level1_bp=1000)


def test_a_stale_save_says_the_settings_changed_meanwhile(console, ops):
    c = console("admin")
    c.open("/settings/distribution")
    try:
        # someone else saves while the page is open
        r = ops.put("/admin/settings/distribution", json={"level2_bp": 600})
        assert r.status_code == 200, r.text
        _rate(c, "level1", "11")
        c.page.click("[data-test=settings-save]")
        c.page.wait_for_selector("[data-test=settings-stale]")
        stored = c.api.get("/admin/settings/distribution").json()
        assert stored["level1_bp"] == 1000 and stored["level2_bp"] == 600  # nothing of the stale save
        c.shot("settings-stale")
        # reloading shows the other admin's change, and then the save goes through
        c.page.click("[data-test=settings-stale-reload]")
        c.page.wait_for_selector("[data-test=settings-stale]", state="detached")
        assert c.page.locator("#settings-level2").input_value() == "6.00"
        _rate(c, "level1", "11")
        c.page.click("[data-test=settings-save]")
        c.page.wait_for_selector(".el-message--success")
        assert c.api.get("/admin/settings/distribution").json()["level1_bp"] == 1100
    finally:
        set_settings(ops, level1_bp=1000, level2_bp=500)


def test_an_operator_reads_the_settings_but_cannot_save(console, ops):
    c = console("operator")
    c.open("/settings/distribution")
    c.page.wait_for_selector("[data-test=settings-read-only]")
    assert c.page.locator("[data-test=settings-save]").count() == 0
    assert c.page.locator("#settings-level1").is_disabled()
    assert c.page.locator("#settings-level1").input_value() == "10.00"
    c.shot("settings-read-only")


def test_the_form_refuses_what_the_api_would_and_warns_over_the_cap(console, ops):
    """Validation on the page: a minimum transfer below WeChat's 0.10 yuan is refused by
    the form (nothing is sent: the version stays), and level 1 + level 2 past the cap is
    said before saving (the API caps the payout, level 2 first)."""
    c = console("admin")
    c.open("/settings/distribution")
    before = c.api.get("/admin/settings/distribution").json()
    box = c.page.locator("#settings-min-transfer")
    box.fill("0.05")
    box.press("Tab")
    c.page.get_by_text("不能低于 0.10 元").wait_for()
    c.page.click("[data-test=settings-save]")
    c.page.get_by_text("不能低于 0.10 元").wait_for()
    assert c.api.get("/admin/settings/distribution").json()["version"] == before["version"]  # nothing sent
    box.fill(f"{before['min_transfer_fen'] / 100:.2f}")
    box.press("Tab")
    c.page.get_by_text("不能低于 0.10 元").wait_for(state="hidden")  # a valid amount clears the message

    assert c.page.locator("[data-test=settings-over-cap]").count() == 0
    _rate(c, "level1", "25")  # 25 % + 5 % + ... past the 30 % cap
    _rate(c, "level2", "10")
    c.page.locator("[data-test=settings-over-cap]").wait_for()
    c.shot("settings-validation")
    assert c.api.get("/admin/settings/distribution").json()["version"] == before["version"]
