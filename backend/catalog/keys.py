"""The normalised keys that make (MPN, brand) one part, whoever wrote them.

Both are pure functions so the admin API, the reconciliation imports and the coming
bulk import compute the same key from the same text (docs/catalog.md):

* ``mpn_key``: Unicode NFKC (full-width letters and digits become ASCII), every
  whitespace removed, upper-cased. Dashes, dots and slashes are kept: in many
  manufacturers' schemes they carry meaning (``RC0603FR-0710KL``, ``LM317T/NOPB``).
* ``brand_key``: NFKC, case-folded, with whitespace and ``- _ . , &`` removed, so
  "Fenghua", "FENG HUA" and "feng-hua" meet. A key names a brand through the
  ``brand_aliases`` table: "FH", "Fenghua" and "风华" are three aliases of one brand.
"""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")
_BRAND_NOISE = re.compile(r"[\s\-_.,&]+")


def mpn_key(part_no: str) -> str:
    return _SPACE.sub("", unicodedata.normalize("NFKC", part_no)).upper()


def brand_key(brand: str) -> str:
    return _BRAND_NOISE.sub("", unicodedata.normalize("NFKC", brand).casefold())


# The aliases the shop starts with: canonical name -> other ways suppliers write it.
# The canonical names are the ones the demo and the reconciliation files already use.
SEED_ALIASES: dict[str, tuple[str, ...]] = {
    "Fenghua": ("FH", "风华", "风华高科", "Fenghua Advanced", "Guangdong Fenghua"),
    "Murata": ("村田", "Murata Manufacturing"),
    "Yageo": ("国巨", "YAGEO Corporation"),
    "Samsung": ("三星", "SEMCO", "Samsung Electro-Mechanics"),
    "TDK": ("东电化",),
    "UniOhm": ("厚声", "UNI-ROYAL", "Uniroyal"),
    "Vishay": ("威世", "Vishay Dale"),
    "ST": ("STMicroelectronics", "意法半导体", "STM"),
    "TI": ("Texas Instruments", "德州仪器"),
    "Espressif": ("乐鑫", "Espressif Systems"),
}


def mpn_prefix(column, text: str):
    """``column`` (an MPN key column) starts with ``text``'s key: a LIKE with the pattern
    escaped by "/" (no dialect's quirks with backslashes), so a prefix index serves it."""
    escaped = mpn_key(text).replace("/", "//").replace("%", "/%").replace("_", "/_")
    return column.like(f"{escaped}%", escape="/")
