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


# --- keys built from the API's values ---------------------------------------------------
# The pages translate what the API returns with keys built at run time
# (`labels.order.${status}`, `errors.${code}`, ...), which no scan of the code can see. A
# value the API may send without its key would show as a raw code (or, for an error, as
# the API's English sentence on a Chinese page), so each such family is checked against
# the backend's own list of values.

def _families() -> dict[str, tuple[str, ...]]:
    from backend.admin.service import ROLES
    from backend.catalog.models import LIFECYCLES
    from backend.commission.listing import COMMISSION_STATUSES
    from backend.commission.models import PAYOUT_STATUSES
    from backend.commission.settings import BIND_MODES, DISTRIBUTION_MODES, PAYOUT_RAILS
    from backend.commission.waiting import WAITING_CODES
    from backend.import_refusals import CODES as IMPORT_REFUSALS
    from backend.leaderboard.periods import METRICS, PERIODS
    from backend.orders.models import ORDER_STATUSES
    from backend.referral.user_search import DISTRIBUTOR_STATUSES

    return {
        "labels.order": ORDER_STATUSES, "labels.payout": PAYOUT_STATUSES, "labels.commission": COMMISSION_STATUSES,
        "labels.distributor": DISTRIBUTOR_STATUSES, "labels.waiting_for": WAITING_CODES,
        "labels.refund": ("processing", "succeeded", "failed"),
        "campaigns.payout_statuses": PAYOUT_STATUSES, "roles": ROLES,
        "leaderboards.metrics": METRICS, "leaderboards.periods": PERIODS,
        "settings.rails": PAYOUT_RAILS, "payouts.rails": PAYOUT_RAILS, "settings.bind_modes": BIND_MODES,
        "settings.bind_mode_hints": BIND_MODES, "settings.modes": DISTRIBUTION_MODES,
        "payouts.kinds": ("commission", "withdrawal"), "user.sources": ("login", "bind", "order", "admin"),
        "labels.lifecycle": LIFECYCLES, "labels.substitute_group": ("proposed", "approved", "rejected"),
        "labels.catalog_import": ("queued", "running", "done", "failed"),
        "import_refusals": tuple(IMPORT_REFUSALS),
    }


def test_every_value_the_api_sends_has_its_words_in_both_languages():
    missing = []
    for locale in LOCALES:
        known = _messages(locale)
        for family, values in _families().items():
            missing += [(locale, f"{family}.{v}") for v in values if f"{family}.{v}" not in known]
    assert missing == []


def test_every_error_code_an_admin_operation_documents_is_translated(live):
    from backend.extensions import api

    with live.app.app_context():
        doc = api.spec.to_dict()
    codes: dict[str, str] = {}
    for path, operations in doc["paths"].items():
        if not path.startswith("/api/v1/admin/"):
            continue
        for method, operation in operations.items():
            for response in operation.get("responses", {}).values() if isinstance(operation, dict) else ():
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                code = schema.get("properties", {}).get("error", {}).get("properties", {}).get("code", {})
                for value in code.get("enum", ()):
                    codes.setdefault(value, f"{method.upper()} {path}")
    assert len(codes) > 30, "the scan found too few error codes: the document's shape changed"
    missing = [(locale, code, where) for locale in LOCALES for code, where in sorted(codes.items())
               if f"errors.{code}" not in _messages(locale)]
    assert missing == []


def test_the_status_filters_offer_what_the_api_accepts():
    """labels.ts lists each status kind's values (the filters' options are built from it)."""
    from backend.commission.listing import COMMISSION_STATUSES
    from backend.orders.models import ORDER_STATUSES
    from backend.referral.user_search import DISTRIBUTOR_STATUSES

    text = (SRC / "labels.ts").read_text(encoding="utf-8")
    table = {kind: set(re.findall(r"(\w+):", body))
             for kind, body in re.findall(r"^\s*(\w+): \{([^}]*)\}", text, re.MULTILINE)}
    assert table["order"] == set(ORDER_STATUSES)
    assert table["commission"] == set(COMMISSION_STATUSES)
    assert table["distributor"] == set(DISTRIBUTOR_STATUSES)
