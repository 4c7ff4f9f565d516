"""A statement as PDF. Chinese renders with reportlab's built-in CID font STSong-Light
(Adobe's Asian font pack names it; the reader supplies the glyphs), so no font file ships."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

from backend.reconciliation.money import cents_text, price_text

FONT = "STSong-Light"


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def write_pdf(path: Path, statement, cp, marker: dict, rows, totals: list[dict]) -> None:
    font = _font()
    style = ParagraphStyle("cn", fontName=font, fontSize=9, leading=12)
    title = ParagraphStyle("cn-title", parent=style, fontSize=14, leading=18)
    doc = SimpleDocTemplate(str(path), pagesize=landscape(A4), title=f"对账单 {statement.number}",
                            subject=" ".join(f"{k}={v}" for k, v in marker.items()), author="Fission")
    # Paragraphs read markup: names (a supplier's "A&B 电子") are escaped. The separators
    # are ASCII: "·" has no glyph in STSong-Light's encoding and showed as a box.
    story = [Paragraph(escape(f"对账单 Statement {statement.number}"), title),
             Paragraph(escape(f"{cp.code} {cp.name} | {statement.period_start} – {statement.period_end} | "
                              f"version {statement.version}"), style), Spacer(1, 8)]
    data = [["日期", "单号", "型号", "品牌", "数量", "单价", "金额", "币种"]]
    for day, number, part_no, brand, qty, price, cents, currency, _line in rows:
        data.append([day.isoformat(), number, part_no, brand, str(qty), price_text(price), cents_text(cents),
                     currency])
    for total in totals:
        data.append(["合计 Total", "", "", "", f"{total['lines']} lines", "", cents_text(total["amount_cents"]),
                     total["currency"]])
    table = LongTable(data, repeatRows=1)
    table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 8),
                               ("ALIGN", (4, 1), (6, -1), "RIGHT"), ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey)]))
    story.append(table)
    doc.build(story)
