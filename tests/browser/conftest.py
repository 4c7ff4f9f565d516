"""Browser tests: Playwright driving the machine's Chromium (Debian's package, never a
downloaded one) against the console the live test server serves at /admin/.

Without Chromium on the machine every test here is skipped, and the summary says why
(``.ci/run`` installs it with apt). Each page a test opens is photographed under
``test-output/screenshots/`` (see ``shot``).
"""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

import pytest
import requests
from helpers import Client

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
CONSOLE_DIST = Path(__file__).resolve().parents[2] / "console" / "dist"

UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), textarea, select')]
  .filter(el => el.offsetParent !== null && el.getAttribute('aria-hidden') !== 'true')
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
               && !el.getAttribute('aria-labelledby') && !el.getAttribute('title'))
  .map(el => el.outerHTML.slice(0, 160))"""

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="browser tests skipped: no chromium on PATH (apt-get install chromium; .ci/run does)")


@pytest.fixture(scope="session")
def browser():
    if CHROMIUM is None:
        pytest.skip("browser tests skipped: no chromium on PATH (apt-get install chromium; .ci/run does)")
    if not (CONSOLE_DIST / "index.html").exists():
        pytest.fail("console/dist is missing: build the console first (make console)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class Console:
    """One signed-in browser tab on the console, and the account behind it."""

    def __init__(self, live, page, role: str, username: str, password: str, token: str):
        self.live = live
        self.page = page
        self.role = role
        self.username = username
        self.password = password
        self.api = Client(live, token)  # the same account, through the API, to check what the page did
        self.outside: list[str] = []  # requests the page tried to send off this machine
        self.blocked: list[str] = []  # what its Content-Security-Policy refused

    def open(self, path: str) -> None:
        """Go to a console route (``/orders``) and wait for the page to settle."""
        self.page.goto(f"{self.live.url}/admin{path}")
        self.page.wait_for_load_state("networkidle")

    def unlabelled_fields(self) -> list[str]:
        """Visible form fields a screen reader could not name (no label, aria-label,
        aria-labelledby or title)."""
        return self.page.evaluate(UNLABELLED)

    def shot(self, name: str) -> Path:
        """Photograph the page, and check on the way that every field on it is labelled:
        every page a test looks at is held to it."""
        assert self.unlabelled_fields() == [], f"fields without a label on {name}"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.role}-{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def _account(live, role: str) -> tuple[str, str]:
    from backend.auth.service import create_admin
    from backend.extensions import db

    username, password = f"{role}-{uuid.uuid4().hex[:6]}", "console-password-1"
    with live.app.app_context():
        create_admin(username, password, role)
        db.session.commit()
        db.session.remove()
    return username, password


def _guard_network(page, live, outside: list[str]) -> None:
    """The console must work offline: any request to another host is refused and noted."""
    own = live.url.rstrip("/")

    def route(r):
        url = r.request.url
        if url.startswith((own, "data:", "blob:")):
            r.continue_()
        else:
            outside.append(url)
            r.abort()

    page.route("**/*", route)


@pytest.fixture
def console(live, browser, ops):
    """``console(role)`` → a Console signed in through the login form as a new account with
    that role (``admin`` signs in as a fresh admin account too)."""
    contexts, consoles = [], []

    def sign_in(role: str = "operator", locale: str = "zh-CN") -> Console:
        username, password = _account(live, role)
        context = browser.new_context(viewport={"width": 1440, "height": 900}, locale=locale)
        contexts.append(context)
        page = context.new_page()
        outside: list[str] = []
        _guard_network(page, live, outside)
        blocked: list[str] = []  # what the page's Content-Security-Policy refused (the app's own code)
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(f"{live.url}/admin/login")
        page.fill("#login-username", username)
        page.fill("#login-password", password)
        page.click("[data-test=login-submit]")
        page.wait_for_selector("[data-test=who]")
        r = requests.post(live.api("/admin/auth/login"), json={"username": username, "password": password},
                          timeout=30)
        assert r.status_code == 200, r.text
        c = Console(live, page, role, username, password, r.json()["token"])
        c.outside = outside
        c.blocked = blocked
        consoles.append(c)
        return c

    yield sign_in
    for context in contexts:
        context.close()
    for c in consoles:
        assert c.outside == [], f"the console tried to reach other hosts: {c.outside}"
        assert c.blocked == [], f"the console's security policy refused: {c.blocked}"
