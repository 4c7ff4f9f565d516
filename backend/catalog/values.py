"""Parameter values as distributors write them → the part master's integer units.

Pure functions, shared by the catalog import and the parametric search, so that
``capacitance=100nF`` in a query and "0.1uF" in a file meet at 100,000,000 fF
(docs/catalog.md, "Parameters"). Each raises ValueError with a short reason.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from backend.import_refusals import Refused

_NUMBER = r"(\d+(?:\.\d+)?)"
_CAP = re.compile(rf"^{_NUMBER}\s*([pnuµμm]?)\s*F$", re.IGNORECASE)
_CAP_FF = {"p": 10**3, "n": 10**6, "u": 10**9, "µ": 10**9, "μ": 10**9, "m": 10**12, "": 10**15}
_RES = re.compile(rf"^{_NUMBER}\s*([mkKMG]?)\s*(?:Ω|OHMS?|R)?$", re.IGNORECASE)
_RES_RKM = re.compile(r"^(\d+)([RKMG])(\d+)$", re.IGNORECASE)  # 4R7, 4K7, 1M5
_RES_MOHM = {"m": 1, "": 1000, "r": 1000, "k": 10**6, "M": 10**9, "g": 10**12}
_VOLT = re.compile(rf"^{_NUMBER}\s*([mk]?)\s*V(?:DC)?$", re.IGNORECASE)
_POWER = re.compile(rf"^(?:(\d+)\s*/\s*(\d+)|{_NUMBER})\s*(m?)W$", re.IGNORECASE)
_TOL = re.compile(rf"^(?:±|\+/-|\+-)?\s*{_NUMBER}\s*(%|pF)$", re.IGNORECASE)

DIELECTRICS = {"C0G", "X5R", "X7R", "X7S", "X7T", "X6S", "X8R", "X8L", "Y5V", "Z5U", "U2J"}
_DIELECTRIC_ALIASES = {"NP0": "C0G", "NPO": "C0G", "COG": "C0G"}

# The chip sizes (EIA inch codes) and the families of the other packages a component
# trader stocks; a package outside them is refused by the import (a typo, or a new one
# to add here).
CHIP_SIZES = {"01005", "0201", "0402", "0603", "0805", "1206", "1210", "1808", "1812", "2010", "2220", "2512"}
_FAMILIES = re.compile(
    r"^(SOT-?\d{2,3}(-\d+)?|SOD-?\d{2,3}|SOIC-?\d+|SOP-?\d+|SSOP-?\d+|TSSOP-?\d+|MSOP-?\d+|QFN-?\d+|DFN-?\d+"
    r"|LQFP-?\d+|TQFP-?\d+|QFP-?\d+|BGA-?\d+|DIP-?\d+|TO-?\d{2,3}[A-Z]?|SMA|SMB|SMC|DO-?\d+[A-Z]*"
    r"|SC-?\d+(-\d+)?|USON-?\d+|WSON-?\d+|LGA-?\d+|CASE-[A-Z])$")


def _clean(text: str) -> str:
    return unicodedata.normalize("NFKC", str(text)).strip().replace(" ", "")


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the patterns let only digits through
        raise Refused("NOT_A_NUMBER", "not a number") from exc


def _whole(value: Decimal, unit: str) -> int:
    if value != value.to_integral_value():
        raise Refused("TOO_FINE", f"finer than 1 {unit}")
    return int(value)


@lru_cache(maxsize=4096)  # a catalog repeats its values: parsed once each
def capacitance_ff(text: str) -> int:
    """"100nF", "0.1uF", "2.2pF", "4.7µF" → femtofarad."""
    found = _CAP.match(_clean(text).replace("µ", "u"))
    if not found:
        raise Refused("BAD_VALUE", "not a capacitance (e.g. 100nF, 0.1uF, 2.2pF)")
    return _whole(_decimal(found[1]) * _CAP_FF[found[2].lower() if found[2].lower() != "m" else "m"], "fF")


@lru_cache(maxsize=4096)  # a catalog repeats its values: parsed once each
def resistance_mohm(text: str) -> int:
    """"10k", "10kΩ", "4K7", "4R7", "0R", "1M", "100mΩ" → milliohm."""
    clean = _clean(text)
    rkm = _RES_RKM.match(clean)
    if rkm:
        unit = rkm[2] if rkm[2] in "MG" else rkm[2].lower()
        return _whole(_decimal(f"{rkm[1]}.{rkm[3]}") * _RES_MOHM[unit.lower() if unit != "M" else "M"], "milliohm")
    found = _RES.match(clean)
    if not found:
        raise Refused("BAD_VALUE", "not a resistance (e.g. 10k, 4K7, 100R)")
    prefix = found[2]
    unit = "M" if prefix == "M" else prefix.lower()
    return _whole(_decimal(found[1]) * _RES_MOHM[unit], "milliohm")


@lru_cache(maxsize=4096)  # a catalog repeats its values: parsed once each
def voltage_mv(text: str) -> int:
    """"16V", "6.3V", "1kV" → millivolt."""
    found = _VOLT.match(_clean(text))
    if not found:
        raise Refused("BAD_VALUE", "not a voltage (e.g. 16V, 6.3V)")
    scale = {"m": 1, "": 1000, "k": 10**6}[found[2].lower()]
    return _whole(_decimal(found[1]) * scale, "mV")


@lru_cache(maxsize=4096)  # a catalog repeats its values: parsed once each
def power_mw(text: str) -> int:
    """"1/16W", "0.1W", "62.5mW" → milliwatt, rounded half-up (1/16 W is 63 mW, as datasheets write 0.063W)."""
    found = _POWER.match(_clean(text))
    if not found:
        raise Refused("BAD_VALUE", "not a power (e.g. 1/16W, 0.1W, 100mW)")
    value = Decimal(found[1]) / Decimal(found[2]) if found[1] else _decimal(found[3])
    value *= 1 if found[4] else 1000
    return int(value.quantize(Decimal(1), rounding="ROUND_HALF_UP"))


@lru_cache(maxsize=4096)  # a catalog repeats its values: parsed once each
def tolerance(text: str) -> str:
    """"±10%", "10%", "+/-0.25pF" → "10%", "0.25pF"."""
    found = _TOL.match(_clean(text))
    if not found:
        raise Refused("BAD_VALUE", "not a tolerance (e.g. ±10%, ±0.25pF)")
    number = format(_decimal(found[1]).normalize(), "f")
    return f"{number}{'%' if found[2] == '%' else 'pF'}"


@lru_cache(maxsize=4096)  # a catalog repeats its values: parsed once each
def dielectric(text: str) -> str:
    clean = _clean(text).upper()
    clean = _DIELECTRIC_ALIASES.get(clean, clean)
    if clean not in DIELECTRICS:
        raise Refused("UNKNOWN_DIELECTRIC", f"unknown dielectric (one of {', '.join(sorted(DIELECTRICS))}, NP0)")
    return clean


@lru_cache(maxsize=4096)  # a catalog repeats its values: parsed once each
def package(text: str) -> str:
    clean = _clean(text).upper()
    if clean in CHIP_SIZES or _FAMILIES.match(clean):
        return clean
    raise Refused("UNKNOWN_PACKAGE", "unknown package")
