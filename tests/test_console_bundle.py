"""The built console loads nothing from another host (shops run behind firewalls and
offline). The browser tests refuse any such request as it happens; this reads the
bundle itself, so an asset URL that only some page would load is caught too."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DIST = Path(__file__).resolve().parents[1] / "console" / "dist"
URL = re.compile(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s"'`)<>]*""", re.IGNORECASE)
# What may appear as text but is never fetched: XML namespace names (an SVG element's
# xmlns is an identifier, not a request) and the documentation links inside the
# libraries' own warning messages (strings shown in the developer console, not loaded).
NOT_FETCHED = re.compile(r"^(?:https?:)?//(?:www\.w3\.org/(?:2000/svg|1999/xlink|1998/Math/MathML|XML/1998/namespace)"
                         r"|element-plus\.org/|vuejs\.org/|github\.com/vuejs/)")
LOADS = {
    ".html": re.compile(r"""(?:src|href)\s*=\s*["']((?:https?:)?//[^"']+)""", re.IGNORECASE),
    ".css": re.compile(r"""(?:url\(\s*["']?|@import\s+["'])((?:https?:)?//[^"')]+)""", re.IGNORECASE),
}


def _files():
    if not (DIST / "index.html").exists():
        pytest.fail("console/dist is missing: run `make console` (make test does)")
    return [p for p in DIST.rglob("*") if p.suffix in (".html", ".js", ".css")]


def test_html_and_css_load_nothing_from_another_host():
    found = []
    for path in _files():
        pattern = LOADS.get(path.suffix)
        if pattern:
            found += [(path.name, url) for url in pattern.findall(path.read_text(encoding="utf-8"))]
    assert found == []


def test_no_other_host_is_named_anywhere_in_the_bundle():
    found = []
    for path in _files():
        text = path.read_text(encoding="utf-8")
        found += [(path.name, url) for url in URL.findall(text) if not NOT_FETCHED.match(url)]
    assert found == [], "the bundle names other hosts (a CDN?)"
