"""Text written into CSV files that people open in a spreadsheet.

Names and codes come from outside (a distributor's nickname, a supplier's part
number or document number): one that starts like a formula (``=``, ``+``, ``-``, ``@``,
a tab or a carriage return) would be run by Excel or LibreOffice when the file is
opened. It is written with a leading ``'``, which spreadsheets show as text.
Only text columns go through here: a negative amount is a number, not a formula.
(XLSX files need no such prefix: their strings are written as strings.)
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value: str | None) -> str:
    value = value or ""
    return "'" + value if value.startswith(FORMULA_STARTS) else value
