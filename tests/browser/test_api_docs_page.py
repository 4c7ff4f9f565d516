"""The API docs page renders in a browser that can reach nothing but this machine."""

from __future__ import annotations

from browser.conftest import _guard_network


def test_the_api_docs_render_with_the_network_off(live, browser):
    outside: list[str] = []
    page = browser.new_page()
    try:
        _guard_network(page, live, outside)
        page.goto(f"{live.url}/api/v1/docs")
        page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)  # Swagger UI drew the document
        page.wait_for_selector(".opblock-tag", timeout=30_000)  # and its operations
        assert "Fission" in page.locator(".swagger-ui .info .title").inner_text()
        assert outside == []
    finally:
        page.close()
