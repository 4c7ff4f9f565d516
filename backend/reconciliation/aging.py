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
from sqlalchemy.orm import aliased

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
    """Each statement of the side whose period ended by D and that was open at the end of
    D, with its counterparty and its version then. Grouped subqueries joined by key, not
    correlated ones: the planner can count what a GROUP BY gives, while a state picked by
    a correlated subquery it guessed at one row, and planned the rest as nested loops of
    2,000 × 2,000 statements."""
    moment = end_of_day_utc(as_of)
    ev = StatementEvent
    in_scope = [Statement.side == side, Statement.period_end <= as_of]
    if counterparty_id:
        in_scope.append(Statement.counterparty_id == counterparty_id)
    # only the events of the statements in scope (each read once, as probes per statement would)
    before = [ev.created_at < moment, ev.statement_id.in_(select(Statement.id).where(*in_scope))]
    last_at = (select(ev.statement_id, func.max(ev.created_at).label("at"))
               .where(ev.action.in_(STATE_ACTIONS), *before).group_by(ev.statement_id).subquery("last_at"))
    # the last of the events at that moment (a tie is broken by the id, as they were written)
    last_id = (select(ev.statement_id, func.max(ev.id).label("id"))
               .join(last_at, and_(last_at.c.statement_id == ev.statement_id, last_at.c.at == ev.created_at))
               .where(ev.action.in_(STATE_ACTIONS)).group_by(ev.statement_id).subquery("last_id"))
    last = aliased(StatementEvent, name="last_event")
    regenerations = (select(ev.statement_id, func.count().label("n")).where(ev.action == "regenerate", *before)
                     .group_by(ev.statement_id).subquery("regenerations"))
    where = [*in_scope, last.action.in_(OPEN_AFTER)]
    return (select(Statement.id, Statement.counterparty_id, Counterparty.code, Counterparty.name,
                   Statement.period_end, (func.coalesce(regenerations.c.n, 0) + 1).label("version"))
            .join(last_id, last_id.c.statement_id == Statement.id)
            .join(last, last.id == last_id.c.id)
            .outerjoin(regenerations, regenerations.c.statement_id == Statement.id)
            .join(Counterparty, Counterparty.id == Statement.counterparty_id)
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
    base = (select(st.c.counterparty_id, st.c.code, st.c.name, StatementTotal.currency, *sums,
                   func.sum(cents).label("total"), func.count().label("statements"))
            .join(StatementTotal, and_(StatementTotal.statement_id == st.c.id, StatementTotal.version == st.c.version))
            .group_by(st.c.counterparty_id, st.c.code, st.c.name, StatementTotal.currency))
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
    rows = select(amounts).order_by(amounts.c.total.desc(), amounts.c.code, amounts.c.currency)
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
