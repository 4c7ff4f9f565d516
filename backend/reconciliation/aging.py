"""Receivables and payables aging (应收 / 应付账龄): open statement amounts by age.

A statement is open as of a day D (a business day in Asia/Shanghai) when, at the end of
D in Shanghai, it was issued (sent, confirmed or disputed; drafts are not yet a claim,
void ones never were) and its period ended on or before D. Its state at that moment is
read from its history, not from its state now: the last workflow event (send, confirm,
dispute, reopen, settle, void) before the end of D gives it (none: still a draft, or
not made yet). So a statement sent after D was not open on D, one voided or settled
after D was (23:30 Shanghai on Jan 31 = 15:30 UTC settles it in January). Its age is D
minus its period end, in days (the model has no due date: the period end is the basis,
everywhere). Buckets: 0–30, 31–60, 61–90, 90+. Amounts are the totals per currency, in
cents, of the version the statement had at the end of D: version 1 plus the
regenerations before then (each writes a ``regenerate`` event; totals are kept for
every version).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, case, func, select

from backend.extensions import db
from backend.reconciliation.models import Counterparty, Statement, StatementEvent, StatementTotal
from backend.reconciliation.periods import shop_date
from backend.timeutil import SHOP_TZ

BUCKETS = ("b0_30", "b31_60", "b61_90", "b90_plus")


def end_of_day_utc(day: date) -> datetime:
    """The first instant after ``day`` in Shanghai, in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), SHOP_TZ).astimezone(UTC)


# The actions that set a statement's state (workflow.TRANSITIONS), and those after which it is a claim.
STATE_ACTIONS = ("send", "confirm", "dispute", "reopen", "settle", "void")
OPEN_AFTER = ("send", "confirm", "dispute")


def _as_of(side: str, as_of: date, counterparty_id: int | None):
    """Each statement of the side whose period ended by D, with its last state-setting
    action and its version at the end of D."""
    moment = end_of_day_utc(as_of)
    last_action = (select(StatementEvent.action)
                   .where(StatementEvent.statement_id == Statement.id, StatementEvent.action.in_(STATE_ACTIONS),
                          StatementEvent.created_at < moment)
                   .order_by(StatementEvent.created_at.desc(), StatementEvent.id.desc())
                   .limit(1).correlate(Statement).scalar_subquery())
    regenerations = (select(func.count()).select_from(StatementEvent)
                     .where(StatementEvent.statement_id == Statement.id, StatementEvent.action == "regenerate",
                            StatementEvent.created_at < moment)
                     .correlate(Statement).scalar_subquery())
    where = [Statement.side == side, Statement.period_end <= as_of]
    if counterparty_id:
        where.append(Statement.counterparty_id == counterparty_id)
    return (select(Statement.id, Statement.counterparty_id, Statement.period_end,
                   last_action.label("last_action"), (regenerations + 1).label("version"))
            .where(*where).subquery("as_of"))


def _open_amounts(side: str, as_of: date, counterparty_id: int | None):
    st = _as_of(side, as_of, counterparty_id)
    cents = StatementTotal.amount_cents
    bucket = {
        "b0_30": st.c.period_end >= as_of - timedelta(days=30),
        "b31_60": and_(st.c.period_end < as_of - timedelta(days=30), st.c.period_end >= as_of - timedelta(days=60)),
        "b61_90": and_(st.c.period_end < as_of - timedelta(days=60), st.c.period_end >= as_of - timedelta(days=90)),
        "b90_plus": st.c.period_end < as_of - timedelta(days=90),
    }
    sums = [func.sum(case((cond, cents), else_=0)).label(name) for name, cond in bucket.items()]
    base = (select(st.c.counterparty_id, StatementTotal.currency, *sums, func.sum(cents).label("total"),
                   func.count().label("statements"))
            .join(StatementTotal, and_(StatementTotal.statement_id == st.c.id, StatementTotal.version == st.c.version))
            .where(st.c.last_action.in_(OPEN_AFTER)).group_by(st.c.counterparty_id, StatementTotal.currency))
    return base.subquery()


def _row(row, with_cp: bool = True) -> dict:
    out = {name: int(getattr(row, name) or 0) for name in (*BUCKETS, "total")}
    out["currency"] = row.currency
    out["statements"] = int(row.statements or 0)
    if with_cp:
        out["counterparty"] = {"id": row.counterparty_id, "code": row.code, "name": row.name}
    return out


def aging(side: str, as_of: date | None, counterparty_id: int | None, page: int | None = 1,
          per_page: int = 20) -> dict:
    """Open amounts per counterparty and currency (a page of them, largest first), with
    the totals per currency over all of them."""
    as_of = as_of or shop_date()
    amounts = _open_amounts(side, as_of, counterparty_id)
    rows = (select(amounts, Counterparty.code, Counterparty.name)
            .join(Counterparty, Counterparty.id == amounts.c.counterparty_id)
            .order_by(amounts.c.total.desc(), Counterparty.code, amounts.c.currency))
    total = db.session.scalar(select(func.count()).select_from(amounts))
    if page is not None:
        rows = rows.limit(per_page).offset((page - 1) * per_page)
    items = [_row(r) for r in db.session.execute(rows)]
    sums = select(amounts.c.currency, *[func.sum(getattr(amounts.c, b)).label(b) for b in BUCKETS],
                  func.sum(amounts.c.total).label("total"), func.sum(amounts.c.statements).label("statements")) \
        .group_by(amounts.c.currency).order_by(amounts.c.currency)
    totals = [_row(r, with_cp=False) for r in db.session.execute(sums)]
    return {"side": side, "as_of": as_of, "basis": "period_end", "buckets": list(BUCKETS), "totals": totals,
            "items": items, "page": page or 1, "per_page": per_page, "total": total}


HEADER = ["代码 Code", "名称 Name", "币种 Currency", "0-30", "31-60", "61-90", "90+", "合计 Total", "对账单 Statements"]


def aging_xlsx(side: str, as_of: date | None, counterparty_id: int | None):
    """Every row as a workbook in a temporary file (deleted when closed, after it is sent)."""
    import xlsxwriter

    found = aging(side, as_of, counterparty_id, page=None)
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx")  # noqa: SIM115 - the caller sends and closes it
    book = xlsxwriter.Workbook(handle.name, {"constant_memory": True, "strings_to_formulas": False,
                                             "strings_to_urls": False})
    money = book.add_format({"num_format": "#,##0.00"})
    sheet = book.add_worksheet("aging")
    sheet.write_row(0, 0, [f"{'应收账龄 Receivables' if side == 'receivable' else '应付账龄 Payables'} "
                           f"as of {found['as_of']} (Asia/Shanghai; age from period end)"])
    sheet.write_row(1, 0, HEADER)
    for i, item in enumerate(found["items"], start=2):
        sheet.write_string(i, 0, item["counterparty"]["code"])
        sheet.write_string(i, 1, item["counterparty"]["name"])
        sheet.write_string(i, 2, item["currency"])
        for j, key in enumerate((*BUCKETS, "total"), start=3):
            sheet.write_number(i, j, item[key] / 100, money)
        sheet.write_number(i, 8, item["statements"])
    book.close()
    return handle
