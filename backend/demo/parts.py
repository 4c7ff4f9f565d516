"""The demo catalog: real manufacturer part numbers.

Hand-picked parts (ICs, modules, discretes, connectors, crystals) come from
``parts.csv``; the passives are generated from each manufacturer's own naming
scheme (value × package × voltage), so every MPN reads as it would on a reel label:
Yageo ``RC0603FR-0710KL``, UniOhm ``0603WAF1002T5E``, Vishay ``CRCW060310K0FKEA``,
Murata ``GRM188R71H104KA01D``, Samsung ``CL10B104KB8NNNC``, Yageo
``CC0603KRX7R9BB104``, 风华 ``0603B104K500NT``, TDK ``C1608X7R1H104K080AA``.
Passives are sold in bags of 100 (the title says so), everything else per piece;
passives have price breaks by the bag (``price_breaks``).
Prices and stock are derived from the part number, so every run plans the same shop.
"""

from __future__ import annotations

import csv
import zlib
from dataclasses import dataclass
from pathlib import Path

PARTS_CSV = Path(__file__).with_name("parts.csv")
BAG = 100  # passives per bag


@dataclass(frozen=True)
class Part:
    part_no: str
    brand: str
    title: str
    price_fen: int
    stock: int
    category: str


def _spread(part_no: str, low: int, high: int, salt: str = "") -> int:
    """A stable pseudo-random integer in [low, high] for this part (crc32, not ``hash``)."""
    return low + zlib.crc32(f"{salt}{part_no}".encode()) % (high - low + 1)


def _stock(part_no: str, category: str) -> int:
    if category in ("Resistor", "Capacitor"):
        return _spread(part_no, 20, 400, "stock") * 10  # bags
    if category in ("Module", "IC"):
        return _spread(part_no, 30, 3000, "stock")
    return _spread(part_no, 200, 20000, "stock")


# ---- resistors -------------------------------------------------------------------

# (ohms, label): the E-series values a shop keeps in stock
RESISTANCES = [(0, "0Ω"), (10, "10Ω"), (22, "22Ω"), (33, "33Ω"), (47, "47Ω"), (100, "100Ω"), (220, "220Ω"),
               (330, "330Ω"), (470, "470Ω"), (1_000, "1kΩ"), (1_500, "1.5kΩ"), (2_200, "2.2kΩ"),
               (3_300, "3.3kΩ"), (4_700, "4.7kΩ"), (5_100, "5.1kΩ"), (10_000, "10kΩ"), (22_000, "22kΩ"),
               (47_000, "47kΩ"), (100_000, "100kΩ"), (1_000_000, "1MΩ")]


def _r_code(ohms: int, digits: int) -> str:
    """The RKM code: 4K7, 10K, 100R, 1M; ``digits`` significant figures (Vishay: 3, 10K0)."""
    if ohms == 0:
        return "0R"
    for unit, letter in ((1_000_000, "M"), (1_000, "K"), (1, "R")):
        if ohms >= unit:
            whole, rest = divmod(ohms, unit)
            frac = f"{rest / unit:.3f}"[2:].rstrip("0")
            code = f"{whole}{letter}{frac}"
            if digits and len(code) - 1 < digits:
                code += "0" * (digits - len(code) + 1)
            return code
    raise ValueError(ohms)


def _eia4(ohms: int) -> str:
    """UniOhm's four-digit code: three figures and a multiplier (10 kΩ = 1002)."""
    if ohms == 0:
        return "0000"
    exponent = 0
    while ohms >= 1000:
        ohms //= 10
        exponent += 1
    return f"{ohms:03d}{exponent}"


def resistors() -> list[tuple[str, str, str, str]]:
    """(part_no, brand, title, package) of the generated chip resistors."""
    out = []
    for package in ("0402", "0603", "0805"):
        for ohms, label in RESISTANCES:
            tol = "跳线" if ohms == 0 else "±1%"
            title = f"{label} {tol} {package} 贴片电阻 ({BAG}只)"
            grade = "JR" if ohms == 0 else "FR"  # Yageo's jumpers are J (5%) parts
            out.append((f"RC{package}{grade}-07{_r_code(ohms, 0)}L", "Yageo", title, package))
    for package, series in (("0402", "WGF{}TCE"), ("0603", "WAF{}T5E"), ("0805", "W8F{}T5E")):
        for ohms, label in RESISTANCES:
            if 0 < ohms < 100:
                continue  # below 100 Ω UniOhm writes an R code: not in this shop's range
            tol = "跳线" if ohms == 0 else "±1%"
            out.append((package + series.format(_eia4(ohms)), "UniOhm", f"{label} {tol} {package} 贴片电阻 ({BAG}只)",
                        package))
    for package in ("0603", "0805"):
        for ohms, label in RESISTANCES:
            if ohms == 0:
                out.append((f"CRCW{package}0000Z0EA", "Vishay", f"0Ω 跳线 {package} 厚膜电阻 ({BAG}只)", package))
            else:
                out.append((f"CRCW{package}{_r_code(ohms, 3)}FKEA", "Vishay",
                            f"{label} ±1% {package} 厚膜电阻 ({BAG}只)", package))
    return out


# ---- MLCCs --------------------------------------------------------------------

CAPS = {"102": "1nF", "222": "2.2nF", "472": "4.7nF", "103": "10nF", "223": "22nF", "473": "47nF",
        "104": "100nF", "224": "220nF"}
SMALL_CAPS = ("102", "222", "103", "223", "104", "224")  # the 0402 range
MURATA_VOLTS = {"1C": "16V", "1E": "25V", "1H": "50V"}


def capacitors() -> list[tuple[str, str, str, str]]:
    out = []

    def add(part_no, brand, code, volts, package, dielectric="X7R"):
        out.append((part_no, brand, f"{CAPS[code]} {volts} ±10% {dielectric} {package} 贴片电容 ({BAG}只)", package))

    for v, volts in MURATA_VOLTS.items():
        for code in CAPS:
            add(f"GRM188R7{v}{code}KA01D", "Murata", code, volts, "0603")
        for code in SMALL_CAPS:
            add(f"GRM155R7{v}{code}KA88D", "Murata", code, volts, "0402")
    for code in CAPS:
        add(f"CL10B{code}KB8NNNC", "Samsung", code, "50V", "0603")
        add(f"CL21B{code}KBCNNNC", "Samsung", code, "50V", "0805")
        add(f"CC0603KRX7R9BB{code}", "Yageo", code, "50V", "0603")
        add(f"CC0805KRX7R9BB{code}", "Yageo", code, "50V", "0805")
        add(f"CC0402KRX7R9BB{code}", "Yageo", code, "50V", "0402")
        add(f"0603B{code}K500NT", "Fenghua", code, "50V", "0603")
        add(f"0805B{code}K500NT", "Fenghua", code, "50V", "0805")
        add(f"0402B{code}K160NT", "Fenghua", code, "16V", "0402")
        add(f"C1608X7R1H{code}K080AA", "TDK", code, "50V", "0603")
    for code in SMALL_CAPS:
        add(f"CL05B{code}KO5NNNC", "Samsung", code, "16V", "0402")
    # the bulk 10 µF parts everyone orders
    out.append(("CL10A106KP8NNNC", "Samsung", f"10µF 10V ±10% X5R 0603 贴片电容 ({BAG}只)", "0603"))
    out.append(("C1608X5R1A106M080AC", "TDK", f"10µF 10V ±20% X5R 0603 贴片电容 ({BAG}只)", "0603"))
    out.append(("GRM188R61A106KE69D", "Murata", f"10µF 10V ±10% X5R 0603 贴片电容 ({BAG}只)", "0603"))
    out.append(("GRM188R71H104KA93D", "Murata", f"100nF 50V ±10% X7R 0603 贴片电容 ({BAG}只)", "0603"))
    return out


_BAG_PRICE = {  # fen per bag of 100, by brand and package (the brand premium a buyer sees)
    "Yageo": {"0402": 150, "0603": 200, "0805": 300},
    "UniOhm": {"0402": 100, "0603": 120, "0805": 180},
    "Vishay": {"0603": 600, "0805": 800},
    "Murata": {"0402": 450, "0603": 600, "0805": 900},
    "Samsung": {"0402": 350, "0603": 450, "0805": 700},
    "TDK": {"0603": 650},
    "Fenghua": {"0402": 180, "0603": 250, "0805": 380},
}


def catalog() -> list[Part]:
    """Every demo part, hand-picked first, in a stable order; part numbers unique."""
    parts: dict[str, Part] = {}
    with PARTS_CSV.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            parts[row["part_no"]] = Part(row["part_no"], row["brand"], row["title"], int(row["price_fen"]),
                                         _stock(row["part_no"], row["category"]), row["category"])
    for kind, rows in (("Resistor", resistors()), ("Capacitor", capacitors())):
        for part_no, brand, title, package in rows:
            base = _BAG_PRICE[brand][package]
            price = base + _spread(part_no, 0, base // 2, "price")
            if "10µF" in title:
                price *= 4
            parts.setdefault(part_no, Part(part_no, brand, title, price, _stock(part_no, kind), kind))
    return list(parts.values())


def price_breaks(part: Part) -> list[dict]:
    """Passives get cheaper by the bag (阶梯价): 5% off from 10 bags, 10% off from 50;
    everything else has one price. Unit prices in micro-yuan (docs/catalog.md)."""
    micro = part.price_fen * 10_000
    if part.category not in ("Resistor", "Capacitor"):
        return [{"min_qty": 1, "unit_price": micro}]
    return [{"min_qty": 1, "unit_price": micro}, {"min_qty": 10, "unit_price": micro * 95 // 100},
            {"min_qty": 50, "unit_price": micro * 90 // 100}]
