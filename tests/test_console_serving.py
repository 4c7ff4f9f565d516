"""The console bundle at /admin/ and the offline API docs at /api/v1/docs."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlparse

import pytest
import requests


@pytest.fixture
def dist(live, tmp_path, monkeypatch):
    (tmp_path / "assets").mkdir()
    page = '<!doctype html><div id="app"></div><script src="/admin/assets/x.js"></script>'
    (tmp_path / "index.html").write_text(page)
    (tmp_path / "assets" / "x.js").write_text("console.log('console')")
    (tmp_path / "favicon.ico").write_bytes(b"\0\0\1\0")
    monkeypatch.setitem(live.app.config, "CONSOLE_DIST", str(tmp_path))
    return tmp_path


def test_index_and_history_routes_get_index_html_uncached(live, dist):
    for path in ("/admin/", "/admin", "/admin/orders/12", "/admin/settings/distribution"):
        r = requests.get(live.url + path, timeout=10)
        assert r.status_code == 200, path
        assert '<div id="app">' in r.text
        assert r.headers["Content-Type"].startswith("text/html")
        assert "no-cache" in r.headers["Cache-Control"]


def test_assets_are_served_with_long_cache(live, dist):
    r = requests.get(live.url + "/admin/assets/x.js", timeout=10)
    assert r.status_code == 200 and r.text == "console.log('console')"
    assert "immutable" in r.headers["Cache-Control"] and "max-age=31536000" in r.headers["Cache-Control"]
    assert requests.get(live.url + "/admin/favicon.ico", timeout=10).status_code == 200
    assert requests.get(live.url + "/admin/assets/missing.js", timeout=10).status_code == 404
    r = requests.get(live.url + "/admin/%2e%2e/%2e%2e/etc/passwd", timeout=10)
    assert "root:" not in r.text


def test_a_compressed_build_is_sent_gzipped_to_browsers_that_take_it(live, dist):
    from backend.admin.console import compress

    script = "console.log('" + "fission " * 2000 + "')"
    (dist / "assets" / "big.js").write_text(script)
    assert compress(dist) == 2  # x.js and big.js
    r = requests.get(live.url + "/admin/assets/big.js", timeout=10)  # requests asks for gzip
    assert r.headers["Content-Encoding"] == "gzip" and r.headers["Content-Type"].startswith("text/javascript")
    assert r.text == script  # requests decompressed it
    assert int(r.headers["Content-Length"]) < len(script) / 20
    assert "Accept-Encoding" in r.headers["Vary"]
    r = requests.get(live.url + "/admin/assets/big.js", headers={"Accept-Encoding": "identity"}, timeout=10)
    assert "Content-Encoding" not in r.headers and r.text == script


def test_the_api_under_admin_is_not_the_bundle(live, dist, admin_token):
    r = requests.get(live.api("/admin/me"), headers={"Authorization": f"Bearer {admin_token}"}, timeout=10)
    assert r.status_code == 200 and r.json()["username"] == "admin"
    r = requests.get(live.api("/admin/no-such-route"), timeout=10)
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"


def test_without_a_build_admin_says_how_to_make_one(live, tmp_path, monkeypatch):
    monkeypatch.setitem(live.app.config, "CONSOLE_DIST", str(tmp_path / "nothing"))
    r = requests.get(live.url + "/admin/", timeout=10)
    assert r.status_code == 503
    assert r.headers["Content-Type"].startswith("text/plain") and "make console" in r.text


def test_api_docs_load_nothing_from_another_host(live):
    r = requests.get(live.api("/docs"), timeout=10)
    assert r.status_code == 200
    ours = urlparse(live.url).netloc
    foreign = [u for u in re.findall(r"https?://[^\s\"'<>)]+", r.text) if urlparse(u).netloc != ours]
    assert foreign == []
    refs = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert any(ref.endswith("swagger-ui-bundle.js") for ref in refs)
    assert any(ref.endswith("swagger-ui.css") for ref in refs)
    for ref in refs:
        asset = requests.get(urljoin(live.api("/docs"), ref), timeout=10)
        assert asset.status_code == 200, ref
        assert len(asset.content) > 1000
    assert requests.get(live.api("/openapi.json"), timeout=10).status_code == 200


def test_no_docs_page_loads_from_another_host(live):
    """Swagger UI is served from the pinned package; no other docs page (ReDoc,
    RapiDoc) is configured to load its script from a CDN."""
    off_machine = {k: v for k, v in live.app.config.items()
                   if k.startswith("OPENAPI_") and isinstance(v, str) and v.startswith(("http:", "https:", "//"))}
    assert off_machine == {}
    assert requests.get(f"{live.url}/api/v1/redoc", timeout=30).status_code == 404
