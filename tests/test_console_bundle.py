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


# --- Element Plus, registered by name (console/src/element.ts) ---------------------------
# Only what element.ts registers is bundled; a tag or icon it lacks renders as nothing
# (Vue only warns), so the sources are read for every <el-…> tag and every icon name.

SRC = DIST.parent / "src"


def _registered() -> tuple[set[str], set[str]]:
    text = (SRC / "element.ts").read_text(encoding="utf-8")
    components = re.search(r"const COMPONENTS: Plugin\[\] = \[(.*?)\];", text, re.S).group(1)
    icons = re.search(r"const ICONS: Record<string, Component> = \{(.*?)\};", text, re.S).group(1)
    return set(re.findall(r"\bEl[A-Za-z]+", components)), set(re.findall(r"\b[A-Z][A-Za-z]+", icons))


def _templates():
    for path in SRC.rglob("*.vue"):
        text = path.read_text(encoding="utf-8")
        template = text[text.find("<template>"):]
        script = text[:text.find("<template>")]
        yield path, template, script


def test_every_element_tag_the_pages_use_is_registered():
    components, _ = _registered()
    used = {}
    for path, template, _script in _templates():
        for tag in re.findall(r"<el-([a-z-]+)", template):
            used.setdefault("El" + "".join(part.capitalize() for part in tag.split("-")), path.name)
    assert used, "no <el-…> tag found: the scan is broken"
    assert {name: where for name, where in used.items() if name not in components} == {}


def test_every_icon_the_pages_name_is_registered():
    _, icons = _registered()
    used = {}
    for name in re.findall(r"""\bicon: "([A-Za-z]+)\"""", (SRC / "router.ts").read_text(encoding="utf-8")):
        used.setdefault(name, "router.ts")
    for path, template, script in _templates():
        for name in re.findall(r"""icon \?\? "([A-Za-z]+)\"""", script):  # the menu's fallback
            used.setdefault(name, path.name)
        for name in re.findall(r""":icon="'([A-Za-z]+)'\"""", template):
            used.setdefault(name, path.name)
        local = set(re.findall(r"import\s+([A-Z][A-Za-z]+)\b", script))  # a default import (maybe with names)
        for group in re.findall(r"import\s*[^;{]*\{([^}]*)\}", script):
            local |= {n.strip() for n in group.split(",")}
        for name in re.findall(r"<([A-Z][A-Za-z]+)[\s/>]", template):
            if name not in local:
                used.setdefault(name, path.name)
    assert {"Refresh", "DataLine", "Menu"} <= set(used), "the scan found too few icons: it is broken"
    assert {name: where for name, where in used.items() if name not in icons} == {}
