"""Parametric search (选型) over products and the parts they sell.

Filters are on the part master's indexed columns (``parts``: category, package and the
typed parameters; brand by alias; MPN by key prefix) and on the product (active, in
stock); every filter narrows the join of products to parts. Faceted counts (category,
package, brand, dielectric) are one GROUP BY each over the filtered set, asked for only
when a filter is given (the plain list has no facets to show). docs/catalog.md, "Search".
"""

from __future__ import annotations

from sqlalchemy import func, select, text, tuple_

from backend.catalog import parts as catalog_parts
from backend.catalog.keys import mpn_key
from backend.catalog.models import Part, Product
from backend.extensions import db
from backend.schemas import page_of

RANGES = {"capacitance": Part.capacitance_ff, "voltage": Part.voltage_mv, "resistance": Part.resistance_mohm,
          "power": Part.power_mw}
LISTS = {"category": Part.category, "package": Part.package, "dielectric": Part.dielectric,
         "tolerance": Part.tolerance, "lifecycle": Part.lifecycle}
FACETS = {"category": Part.category, "package": Part.package, "brand": Part.brand, "dielectric": Part.dielectric}
FACET_LIMIT = 30
PART_FILTERS = ("q", "brand", *LISTS, *RANGES, *(f"{k}_min" for k in RANGES), *(f"{k}_max" for k in RANGES))


def _escape(text: str) -> str:
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def part_clauses(args: dict) -> list | None:
    """The WHERE clauses on ``parts`` for the given filters; None when a brand is named
    that no alias knows (nothing can match)."""
    clauses = []
    if args.get("q"):
        clauses.append(Part.mpn_key.like(f"{_escape(mpn_key(args['q']))}%", escape="/"))
    if args.get("brand"):
        ids = sorted(set(catalog_parts.brand_ids(args["brand"], create=False).values()))
        if not ids:
            return None
        clauses.append(Part.brand_id.in_(ids))
    for name, column in LISTS.items():
        if args.get(name):
            wanted = args[name]
            clauses.append(column == wanted[0] if len(wanted) == 1 else column.in_(wanted))
    for name, column in RANGES.items():
        if args.get(name) is not None:
            clauses.append(column == args[name])
        if args.get(f"{name}_min") is not None:
            clauses.append(column >= args[f"{name}_min"])
        if args.get(f"{name}_max") is not None:
            clauses.append(column <= args[f"{name}_max"])
    return clauses


def _filtered(args: dict, admin: bool):
    """(base statement over products, whether it joins parts) or None when nothing matches."""
    clauses = part_clauses(args)
    if clauses is None:
        return None
    stmt = select(Product)
    if clauses:
        stmt = stmt.join(Part, Part.id == Product.part_id).where(*clauses)
    if not admin:
        stmt = stmt.where(Product.active.is_(True))
    if args.get("in_stock"):
        stmt = stmt.where(Product.stock > 0)
    return stmt, bool(clauses)


def has_filters(args: dict) -> bool:
    return any(args.get(k) not in (None, "", []) for k in PART_FILTERS) or bool(args.get("in_stock"))


def _facets(stmt, joined: bool) -> tuple[dict, int | None]:
    """(facets, the total when they give it). On PostgreSQL one pass over the matches
    (GROUPING SETS: every facet at once, and the total as the sum of the category counts,
    a column never null); elsewhere one GROUP BY per facet."""
    base = stmt if joined else stmt.join(Part, Part.id == Product.part_id)
    base = base.order_by(None)
    if db.session.get_bind().dialect.name == "postgresql":
        cols = list(FACETS.values())
        stmt = base.with_only_columns(*cols, func.count()).group_by(func.grouping_sets(*[tuple_(c) for c in cols]))
        rows = _nested_loop(stmt)
        out: dict[str, list] = {name: [] for name in FACETS}
        names = list(FACETS)
        total = 0
        for row in rows:
            for i, name in enumerate(names):
                # a row of one grouping set has its own column set and the others null
                if row[i] is not None and all(row[j] is None for j in range(len(names)) if j != i):
                    out[name].append({"value": row[i], "count": row[-1]})
                    if name == "category":
                        total += row[-1]
        for name in names:
            out[name] = sorted(out[name], key=lambda f: (-f["count"], f["value"]))[:FACET_LIMIT]
        return out, (total if joined else None)
    out = {}
    for name, column in FACETS.items():
        rows = db.session.execute(base.with_only_columns(column, func.count()).where(column.is_not(None))
                                  .group_by(column).order_by(func.count().desc(), column).limit(FACET_LIMIT))
        out[name] = [{"value": value, "count": count} for value, count in rows]
    return out, None


def _nested_loop(stmt) -> list:
    """Run ``stmt`` with hash and merge joins off, for this statement only. The filtered
    parts (an index) joined to their products (``ix_products_part_id``) is a nested loop;
    the planner, misjudging the match count, chose a hash join over a scan of every
    product: 51–64 ms against 20–34 ms at 100,000 parts for 7,000–11,000 matches
    (bench/catalog.py's broad queries: a package, an MPN prefix)."""
    db.session.execute(text("SET LOCAL enable_hashjoin = off"))
    db.session.execute(text("SET LOCAL enable_mergejoin = off"))
    try:
        return db.session.execute(stmt).all()
    finally:
        db.session.execute(text("SET LOCAL enable_hashjoin TO DEFAULT"))
        db.session.execute(text("SET LOCAL enable_mergejoin TO DEFAULT"))


def search(args: dict, shape, admin: bool = False, base=None) -> dict:
    """A page of products matching ``args``, newest first for the admin (else by id), with
    facets when any filter is given. ``base``: the admin list's statement (its own q)."""
    page, per_page = args["page"], args["per_page"]
    found = _filtered(args, admin)
    if found is None:
        return {**page_of([], page, per_page, 0), "facets": {name: [] for name in FACETS}}
    stmt, joined = found
    if base is not None:
        stmt = base.where(Product.id.in_(stmt.with_only_columns(Product.id))) if has_filters(args) else base
        joined = False
    order = Product.id.desc() if admin else Product.id
    facets, total = _facets(stmt, joined) if has_filters(args) else (None, None)
    if total is None:
        total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(stmt.order_by(None).order_by(order).limit(per_page).offset((page - 1) * per_page)).all()
    parts = {p.id: p for p in db.session.scalars(
        select(Part).where(Part.id.in_({r.part_id for r in rows if r.part_id})))} if rows else {}
    return {**page_of([shape(r, parts.get(r.part_id)) for r in rows], page, per_page, total), "facets": facets}
