"""Parametric search (选型) over products and the parts they sell.

Category, package, dielectric, brand (by alias) and MPN (by key prefix) are filtered on
the product's copy of its part's columns (``search_columns``), so a broad query is one
index range on ``products``; the other parameters (values, voltage, tolerance,
lifecycle) join ``parts`` and its indexes, and match few rows. The product's own
filters: active, in stock. Faceted counts (category, package, brand, dielectric) come
from the same filtered set, asked for only when a filter is given (the plain list has no
facets to show). docs/catalog.md, "Search".
"""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import func, select, tuple_

from backend.catalog import parts as catalog_parts
from backend.catalog.keys import mpn_prefix
from backend.catalog.models import Brand, Part, PartParam, PriceBreakRow, Product
from backend.extensions import db
from backend.schemas import page_of

RANGES = {"capacitance": Part.capacitance_ff, "voltage": Part.voltage_mv, "resistance": Part.resistance_mohm,
          "power": Part.power_mw}
# filtered on the product's copy of its part's columns (search_columns) unless the query joins parts
COPIED = {"category": (Product.part_category, Part.category), "package": (Product.part_package, Part.package),
          "dielectric": (Product.part_dielectric, Part.dielectric), "brand": (Product.part_brand_id, Part.brand_id),
          "q": (Product.part_mpn_key, Part.mpn_key)}
PART_LISTS = {"tolerance": Part.tolerance, "lifecycle": Part.lifecycle}
LISTS = ("category", "package", "dielectric", *PART_LISTS)
FACETS = {"category": Product.part_category, "package": Product.part_package, "brand": Product.part_brand_id,
          "dielectric": Product.part_dielectric}
FACET_LIMIT = 30
PART_FILTERS = ("q", "brand", *LISTS, *RANGES, *(f"{k}_min" for k in RANGES), *(f"{k}_max" for k in RANGES))
PART_ONLY = (*PART_LISTS, *RANGES, *(f"{k}_min" for k in RANGES), *(f"{k}_max" for k in RANGES))


def _listed(column, wanted: list):
    return column == wanted[0] if len(wanted) == 1 else column.in_(wanted)


def joins_parts(args: dict) -> bool:
    """Whether the query names a parameter products do not copy."""
    return any(args.get(k) not in (None, "", []) for k in PART_ONLY)


def part_clauses(args: dict) -> list | None:
    """The WHERE clauses for the given filters; None when a brand is named that no alias
    knows (nothing can match). A query that joins parts filters there, all of it: the
    parts' own indexes (category, package, value, voltage) are the narrow ones."""
    side = 1 if joins_parts(args) else 0
    column = {name: pair[side] for name, pair in COPIED.items()}
    clauses = []
    if args.get("q"):
        clauses.append(mpn_prefix(column["q"], args["q"]))
    if args.get("brand"):
        ids = sorted(set(catalog_parts.brand_ids(args["brand"], create=False).values()))
        if not ids:
            return None
        clauses.append(_listed(column["brand"], ids))
    for name in ("category", "package", "dielectric"):
        if args.get(name):
            clauses.append(_listed(column[name], args[name]))
    for name, part_column in PART_LISTS.items():
        if args.get(name):
            clauses.append(_listed(part_column, args[name]))
    for name, part_column in RANGES.items():
        if args.get(name) is not None:
            clauses.append(part_column == args[name])
        if args.get(f"{name}_min") is not None:
            clauses.append(part_column >= args[f"{name}_min"])
        if args.get(f"{name}_max") is not None:
            clauses.append(part_column <= args[f"{name}_max"])
    return clauses


def _filtered(args: dict, admin: bool):
    """The base statement over products, or None when nothing matches."""
    clauses = part_clauses(args)
    if clauses is None:
        return None
    stmt = select(Product)
    if joins_parts(args):
        stmt = stmt.join(Part, Part.id == Product.part_id)
    stmt = stmt.where(*clauses)
    if not admin:
        stmt = stmt.where(Product.active.is_(True))
    if args.get("in_stock"):
        stmt = stmt.where(Product.stock > 0)
    return stmt


def has_filters(args: dict) -> bool:
    return any(args.get(k) not in (None, "", []) for k in PART_FILTERS) or bool(args.get("in_stock"))


def _facets(stmt) -> tuple[dict, int | None]:
    """(facets, the number of matches when they give it). On PostgreSQL one pass over the
    matches: GROUPING SETS, every facet and the total at once, told apart by GROUPING(),
    brands named by a join to the few rows counted; elsewhere one GROUP BY per facet."""
    base = stmt.order_by(None)
    names, cols = list(FACETS), list(FACETS.values())
    out: dict[str, list] = {name: [] for name in names}
    total = None
    if db.session.get_bind().dialect.name == "postgresql":
        sets = func.grouping_sets(*[tuple_(c) for c in cols], tuple_())
        counted = base.with_only_columns(*cols, func.grouping(*cols).label("sets"), func.count().label("n")) \
            .group_by(sets).subquery()
        brand = names.index("brand")
        named = [Brand.name if i == brand else c for i, c in enumerate(counted.c[:len(cols)])]
        rows = db.session.execute(select(*named, counted.c.sets, counted.c.n)
                                  .outerjoin(Brand, Brand.id == counted.c[brand]))
        every = (1 << len(cols)) - 1
        for *values, grouping, count in rows:
            if grouping == every:  # the () set: every match
                total = count
                continue
            i = next(i for i in range(len(cols)) if not grouping & (1 << (len(cols) - 1 - i)))
            if values[i] is not None:
                out[names[i]].append({"value": values[i], "count": count})
        for name in names:
            out[name] = sorted(out[name], key=lambda f: (-f["count"], f["value"]))[:FACET_LIMIT]
        return out, total
    for name, column in FACETS.items():
        q = base
        if name == "brand":
            q, column = q.join(Brand, Brand.id == Product.part_brand_id), Brand.name
        q = q.with_only_columns(column, func.count()).where(column.is_not(None))
        rows = db.session.execute(q.group_by(column).order_by(func.count().desc(), column).limit(FACET_LIMIT))
        out[name] = [{"value": value, "count": count} for value, count in rows]
    return out, total


def search(args: dict, shape, admin: bool = False, base=None) -> dict:
    """A page of products matching ``args``, newest first for the admin (else by id), with
    facets when any filter is given. ``base``: the admin list's statement (its own q)."""
    page, per_page = args["page"], args["per_page"]
    stmt = _filtered(args, admin)
    if stmt is None:
        return {**page_of([], page, per_page, 0), "facets": {name: [] for name in FACETS}}
    if base is not None:
        stmt = base.where(Product.id.in_(stmt.with_only_columns(Product.id))) if has_filters(args) else base
    order = Product.id.desc() if admin else Product.id
    facets, total = _facets(stmt) if has_filters(args) else (None, None)
    if total is None:
        total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    records = _page_records(stmt.order_by(None).order_by(order).limit(per_page).offset((page - 1) * per_page))
    return {**page_of([shape(p, part) for p, part in records], page, per_page, total), "facets": facets}


def _grouped(stmt, key: str) -> dict[int, list]:
    out: dict[int, list] = {}
    for row in db.session.execute(stmt):
        out.setdefault(row._mapping[key], []).append(row)
    return out


def _page_records(stmt) -> list[tuple[SimpleNamespace, SimpleNamespace | None]]:
    """(product, part) of the page: its products, their price breaks, their parts and the
    parts' free parameters, read as rows into plain records (the shapes and schemas read
    attributes). For 50 products the ORM's instances and selectin loads cost as much
    Python as the queries took (bench/catalog.py)."""
    rows = db.session.execute(stmt.with_only_columns(*Product.__table__.c)).all()
    if not rows:
        return []
    breaks = _grouped(select(PriceBreakRow.product_id, PriceBreakRow.min_qty, PriceBreakRow.unit_price_micro)
                      .where(PriceBreakRow.product_id.in_([r.id for r in rows]))
                      .order_by(PriceBreakRow.product_id, PriceBreakRow.min_qty), "product_id")
    part_ids = sorted({r.part_id for r in rows if r.part_id})
    parts: dict[int, SimpleNamespace] = {}
    if part_ids:  # with their free parameters, in one statement
        for row in db.session.execute(
                select(*Part.__table__.c, PartParam.name.label("param_name"), PartParam.value.label("param_value"))
                .outerjoin(PartParam, PartParam.part_id == Part.id).where(Part.id.in_(part_ids))
                .order_by(Part.id, PartParam.name)):
            fields = dict(row._mapping)
            name, value = fields.pop("param_name"), fields.pop("param_value")
            part = parts.setdefault(row.id, SimpleNamespace(**fields, params=[]))
            if name is not None:
                part.params.append(SimpleNamespace(name=name, value=value))
    return [(SimpleNamespace(**r._mapping, price_breaks=breaks.get(r.id, [])), parts.get(r.part_id)) for r in rows]
