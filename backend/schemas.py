"""Schemas shared by every package: pagination, times, and the error shape."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.errors import ErrorBody, ErrorSchema  # noqa: F401 - the error shape, shared from here too


class Timestamp(fields.DateTime):
    """The one time format of every response: ISO 8601 in UTC with its offset
    (``2026-12-02T06:05:04.123456+00:00``). SQLite hands back naive datetimes; every
    stored time is UTC, so a naive one is UTC too. Accepts the same on input (a time
    without an offset is taken as UTC)."""

    def _serialize(self, value, attr, obj, **kwargs):
        from backend.timeutil import as_utc

        if value is None:
            return None
        return as_utc(value).isoformat()

    def _deserialize(self, value, attr, data, **kwargs):
        from marshmallow import ValidationError

        from backend.timeutil import as_utc

        parsed = super()._deserialize(value, attr, data, **kwargs)
        try:
            return as_utc(parsed)
        except OverflowError as exc:  # 0001-01-01T00:01+00:04 is before year 1 in UTC: a 500 once
            raise ValidationError("Not a valid datetime.") from exc


class ShopDay(fields.Date):
    """A day of the shop (Asia/Shanghai) that a filter turns into UTC bounds: years 1900
    to 9000, as the funnel and analytics ranges take. 0001-01-01 in Shanghai is before
    year 1 in UTC (an OverflowError, a 500 on the user list; found by the fuzzing)."""

    def _deserialize(self, value, attr, data, **kwargs):
        from marshmallow import ValidationError

        day = super()._deserialize(value, attr, data, **kwargs)
        if not 1900 <= day.year <= 9000:
            raise ValidationError("Must be a day from 1900-01-01 to 9000-12-31.")
        return day


# Past this a page is empty on any shop (a million rows at 100 a page is 10,000 pages),
# and below it the offset always fits the database's integer.
MAX_PAGE = 1_000_000


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


def page_of(items: list, page: int, per_page: int, total: int) -> dict:
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def paginate(stmt, page: int, per_page: int, shape) -> dict:
    from sqlalchemy import func, select

    from backend.extensions import db

    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return page_of([shape(row) for row in rows], page, per_page, total)


# A list's total: past this many matching rows an exact count costs more than the page
# (450 ms for four million payouts), so the count stops here and the database's
# estimate stands in, flagged ``total_is_estimate`` (see backend/orders/admin_lists.py).
EXACT_UP_TO = 10_000


def estimated_rows(stmt, table: str) -> int | None:
    """The database's own estimate of the rows ``stmt`` selects, or None where it gives none
    cheaply: PostgreSQL's planner (ANALYZE statistics; nothing is executed); MySQL and
    MariaDB only for the whole table (InnoDB's ``table_rows`` of ``table``)."""
    import json

    from sqlalchemy import text

    from backend.extensions import db

    dialect = db.engine.dialect
    if dialect.name == "postgresql":
        compiled = stmt.compile(dialect=dialect)
        plan = db.session.connection().exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params).scalar()
        plan = json.loads(plan) if isinstance(plan, str) else plan
        return int(plan[0]["Plan"]["Plan Rows"])
    if dialect.name in ("mysql", "mariadb") and stmt.whereclause is None:
        value = db.session.scalar(text(
            "SELECT table_rows FROM information_schema.tables WHERE table_schema = DATABASE() "
            "AND table_name = :table"), {"table": table})
        return None if value is None else int(value)
    return None


def capped_total(ids, table: str, exact_up_to: int | None = None) -> tuple[int, bool]:
    """(total, is_estimate) of the rows ``ids`` (a narrow select: one key column) selects:
    exact up to ``exact_up_to`` (at most that many index entries read), the database's
    estimate past it, or, where there is none (a filtered list on MySQL, SQLite), an
    exact count to the end."""
    from sqlalchemy import func, select

    from backend.extensions import db

    cap = EXACT_UP_TO if exact_up_to is None else exact_up_to
    counted = db.session.scalar(select(func.count()).select_from(ids.limit(cap + 1).subquery()))
    if counted <= cap:
        return counted, False
    estimate = estimated_rows(ids, table)
    if estimate is not None:
        return max(estimate, counted), True
    return db.session.scalar(select(func.count()).select_from(ids.subquery())), False


def paginate_capped(stmt, ids, table: str, page: int, per_page: int, shape) -> dict:
    """``paginate`` for a list that may hold millions of rows: its total by
    ``capped_total(ids)`` and ``total_is_estimate`` with it."""
    from backend.extensions import db

    total, estimated = capped_total(ids, table)
    rows = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return {**page_of([shape(row) for row in rows], page, per_page, total), "total_is_estimate": estimated}


def list_schema(item_schema, name: str, **extra_fields):
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema)),
        "page": fields.Integer(), "per_page": fields.Integer(), "total": fields.Integer(),
        **extra_fields,
    }, name=name)
