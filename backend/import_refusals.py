"""Why an import refused a row, as a stable code beside the English reason.

Every file import (the catalog, price lists, deliveries, supplier statements) lists its
refused rows as ``{row, column, code, reason}``: ``reason`` says it for a person and
quotes the bad value, ``code`` says it for a program (the console's words for it, a
script sorting a report) and never changes its meaning. A cell check raises ``Refused``,
a ``ValueError`` with a code, so code that only cares that a value is bad still catches
``ValueError``.
"""

from __future__ import annotations

# code -> what it means (docs/catalog.md and docs/reconciliation.md list them)
CODES: dict[str, str] = {
    "MISSING_VALUE": "a required cell is empty",
    "TOO_LONG": "longer than the column takes (64 characters for a part number or brand)",
    "CELL_TOO_LARGE": "a cell of more than 4,096 characters",
    "CONTROL_CHARACTERS": "control characters in a document number",
    "NOT_A_NUMBER": "not a number",
    "NOT_A_WHOLE_NUMBER": "a quantity with a fraction",
    "NOT_A_DATE": "not a date (YYYY-MM-DD)",
    "TOO_SMALL": "below the least the column takes (stock below 0, an MOQ or multiple below 1, "
                 "a delivered quantity not positive)",
    "TOO_LARGE": "above the most the column takes (a price, a quantity, a line's amount)",
    "NEGATIVE_PRICE": "a negative price",
    "TOO_MANY_DECIMALS": "a price with more than six decimals",
    "BAD_VALUE": "not a capacitance, resistance, voltage, power or tolerance",
    "TOO_FINE": "a parameter finer than its unit (a fraction of a femtofarad, milliohm or millivolt)",
    "UNKNOWN_PACKAGE": "a package the catalog does not know (a typo, or a new one to add)",
    "UNKNOWN_DIELECTRIC": "a dielectric the catalog does not know",
    "UNKNOWN_LIFECYCLE": "a lifecycle other than active, nrnd, eol",
    "UNKNOWN_CURRENCY": "not a three-letter currency code",
    "BAD_PRICE_BREAKS": "price breaks not written qFrom-qTo:price;...",
    "BREAKS_GO_DOWN": "a price break's quantities that do not go up",
    "PRICE_RISES": "a unit price that rises with the quantity",
    "FIRST_BREAK_NOT_MOQ": "the first price break does not start at the MOQ",
    "NOT_A_MULTIPLE": "an MOQ or price break that is not a multiple of the order multiple",
    "UNKNOWN_PART": "a part number and brand the part master does not know",
    "UNKNOWN_CUSTOMER": "a customer code no customer has",
    "DUPLICATE_ROW": "the same part (or document line) as an earlier row of the file",
    "DOCUMENT_EXISTS": "a document imported before",
    "DIFFERS_FROM_FIRST_ROW": "a document's row whose customer, date or currency differs from its first row",
    "INVALID_VALUE": "any other bad value (the reason says which)",
}


class Refused(ValueError):
    """A bad cell: ``code`` (one of ``CODES``) and the reason as ``str(exc)``."""

    def __init__(self, code: str, reason: str):
        if code not in CODES:
            raise KeyError(f"not an import refusal code: {code}")
        super().__init__(reason)
        self.code = code


def code_of(exc: BaseException | str) -> str:
    """The code of a refusal; ``INVALID_VALUE`` for a plain ``ValueError`` or text."""
    return getattr(exc, "code", "INVALID_VALUE")
