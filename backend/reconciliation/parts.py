"""Counterparties (suppliers, business customers) and parts."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from backend.errors import ApiError
from backend.extensions import db
from backend.reconciliation.models import Counterparty, Part


def create_counterparty(args: dict) -> Counterparty:
    cp = Counterparty(**args)
    try:
        with db.session.begin_nested():
            db.session.add(cp)
    except IntegrityError as exc:
        raise ApiError("DUPLICATE_NUMBER", f"Counterparty code {args['code']} exists") from exc
    return cp


def update_counterparty(cp_id: int, args: dict) -> Counterparty:
    cp = get_counterparty(cp_id)
    for key, value in args.items():
        setattr(cp, key, value)
    db.session.flush()
    return cp


def get_counterparty(cp_id: int, kind: str | None = None) -> Counterparty:
    cp = db.session.get(Counterparty, cp_id)
    if cp is None:
        raise ApiError("COUNTERPARTY_NOT_FOUND", f"No counterparty {cp_id}")
    if kind and cp.kind != kind:
        raise ApiError("WRONG_COUNTERPARTY_KIND", f"Counterparty {cp.code} is a {cp.kind}, not a {kind}")
    return cp


def list_counterparties(kind: str | None, page: int, per_page: int) -> dict:
    query = select(Counterparty).order_by(Counterparty.code)
    if kind:
        query = query.where(Counterparty.kind == kind)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    items = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def create_part(args: dict) -> Part:
    part = Part(**args)
    try:
        with db.session.begin_nested():
            db.session.add(part)
    except IntegrityError as exc:
        raise ApiError("DUPLICATE_NUMBER", f"Part {args['part_no']} / {args['brand']} exists") from exc
    return part


def get_part(part_id: int) -> Part:
    part = db.session.get(Part, part_id)
    if part is None:
        raise ApiError("PART_NOT_FOUND", f"No part {part_id}")
    return part


def list_parts(q: str | None, page: int, per_page: int) -> dict:
    query = select(Part).order_by(Part.part_no, Part.brand)
    if q:
        query = query.where(Part.part_no.like(f"{q}%"))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    items = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def part_ids(keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """(part_no, brand) -> id for the parts that exist, in chunks of one query each."""
    found: dict[tuple[str, str], int] = {}
    numbers = sorted({k[0] for k in keys})
    for i in range(0, len(numbers), 1000):
        rows = db.session.execute(select(Part.id, Part.part_no, Part.brand)
                                  .where(Part.part_no.in_(numbers[i:i + 1000])))
        for pid, part_no, brand in rows:
            found[(part_no, brand)] = pid
    return {k: found[k] for k in keys if k in found}


def counterparty_ids(kind: str, codes: set[str]) -> dict[str, int]:
    rows = db.session.execute(select(Counterparty.code, Counterparty.id)
                              .where(Counterparty.kind == kind, Counterparty.code.in_(sorted(codes))))
    return dict(rows.all())
