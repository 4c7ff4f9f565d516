"""zh-CN and English are complete: both message files have the same keys, and every key
the console's code asks for (``t("…")``, the routes' titles and menu groups) exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "console" / "src"
LOCALES = ("zh-CN", "en")
# t("a.b"), $t('a.b'), te("a.b"), and the routes' title: "a.b" / menu: "a.b"
USED = re.compile(r"""(?:\$?\bte?\(\s*|\b(?:title|menu|label_key|key):\s*)["']([a-z_]+(?:\.[A-Za-z0-9_]+)+)["']""")


def _flatten(tree: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, path + "."))
        else:
            out[path] = value
    return out


def _messages(locale: str) -> dict[str, object]:
    return _flatten(json.loads((SRC / "i18n" / f"{locale}.json").read_text(encoding="utf-8")))


def test_both_languages_have_the_same_keys_and_no_empty_text():
    zh, en = _messages("zh-CN"), _messages("en")
    assert sorted(set(zh) - set(en)) == [], "keys missing from en.json"
    assert sorted(set(en) - set(zh)) == [], "keys missing from zh-CN.json"
    empty = [k for k, v in {**zh, **en}.items() if not str(v).strip() and not k.endswith(".null")]
    assert empty == []


def test_every_key_the_code_uses_exists():
    known = set(_messages("zh-CN"))
    used: dict[str, str] = {}
    for path in SRC.rglob("*"):
        if path.suffix in (".vue", ".ts") and not path.name.endswith(".d.ts"):
            for key in USED.findall(path.read_text(encoding="utf-8")):
                used.setdefault(key, str(path.relative_to(SRC)))
    assert used, "the scan found no keys at all: the pattern is broken"
    missing = {key: where for key, where in used.items() if key not in known}
    assert missing == {}, f"keys used in the console but absent from the message files: {missing}"
