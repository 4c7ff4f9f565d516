"""Counterparties (suppliers, business customers) and parts."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from backend.apidoc import get_or_404
from backend.catalog import parts as catalog_parts
from backend.errors import ApiError
from backend.extensions import db
from backend.reconciliation.models import Counterparty, Part
from backend.schemas import paginate


def add_unique(obj, what: str):
    """Add a row whose number or code must be new: DUPLICATE_NUMBER instead of a 500."""
    try:
        with db.session.begin_nested():
            db.session.add(obj)
    except IntegrityError as exc:
        raise ApiError("DUPLICATE_NUMBER", f"{what} exists") from exc
    return obj


def get_locked_or_404(model, ident):
    """``get_or_404`` under the row's lock (SELECT … FOR UPDATE): one query when it exists."""
    row = db.session.get(model, ident, with_for_update=True)
    return row if row is not None else get_or_404(model, ident)


def create_counterparty(args: dict) -> Counterparty:
    return add_unique(Counterparty(**args), f"Counterparty code {args['code']}")


def update_counterparty(cp_id: int, args: dict) -> Counterparty:
    cp = get_counterparty(cp_id)
    for key, value in args.items():
        setattr(cp, key, value)
    db.session.flush()
    return cp


def get_counterparty(cp_id: int, kind: str | None = None) -> Counterparty:
    cp = get_or_404(Counterparty, cp_id)
    if kind and cp.kind != kind:
        raise ApiError("WRONG_COUNTERPARTY_KIND", f"Counterparty {cp.code} is a {cp.kind}, not a {kind}")
    return cp


def list_counterparties(kind: str | None, page: int, per_page: int, q: str | None = None) -> dict:
    query = select(Counterparty).order_by(Counterparty.code)
    if kind:
        query = query.where(Counterparty.kind == kind)
    if q:
        pattern = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(or_(Counterparty.name.like(f"%{pattern}%", escape="\\"),
                                Counterparty.code.like(f"{pattern}%", escape="\\")))
    return paginate(query, page, per_page, lambda row: row)


def create_part(args: dict) -> Part:
    """A part of the shop's part master; DUPLICATE_NUMBER when (MPN, brand) names one already,
    however written ("FH" and "风华" are one brand: backend/catalog/keys.py)."""
    part, created = catalog_parts.ensure_part(args["part_no"], args["brand"], package=args.get("package", ""),
                                              description=args.get("description", ""))
    if not created:
        raise ApiError("DUPLICATE_NUMBER", f"Part {args['part_no']} / {args['brand']} exists")
    return part


def get_part(part_id: int) -> Part:
    return get_or_404(Part, part_id)


def list_parts(q: str | None, page: int, per_page: int) -> dict:
    query = select(Part).order_by(Part.part_no, Part.brand)
    if q:
        query = query.where(Part.part_no.like(f"{q}%"))
    return paginate(query, page, per_page, lambda row: row)


def part_ids(keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """(part_no, brand) as written -> id of the part they name (by MPN key and brand alias)."""
    return catalog_parts.part_ids(keys)


def counterparty_ids(kind: str, codes: set[str]) -> dict[str, int]:
    """code -> id of the counterparties of ``kind`` that exist, in chunks of one query each."""
    found: dict[str, int] = {}
    ordered = sorted(codes)
    for i in range(0, len(ordered), 1000):
        found.update(db.session.execute(select(Counterparty.code, Counterparty.id).where(
            Counterparty.kind == kind, Counterparty.code.in_(ordered[i:i + 1000]))).all())
    return found
