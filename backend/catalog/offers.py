"""The short line (缺货): ranked substitute offers, accepting one, refusing one.

For a line of product P (part X) that is short, the candidates are the products of the
parts that may replace X: linked and allowed (``approved``), or in X's spec group while
that group awaits an operator (``same_spec``). Then, for this customer:

1. their brand rules: a refused brand is never offered; with an approved list (AVL)
   only those brands are;
2. in stock: the product's stock covers what P lacks (a split line takes what P has);
3. ranked: the substitute this customer last accepted for X first (``remembered``),
   then ``approved``, then ``same_spec``, each cheapest first at the ordered quantity
   (rounded up to the product's MOQ and multiple); substitutes this customer refused
   for X come last, whatever they are.

Everything is read through the primary keys and the (part_id) indexes: two small
queries per short line, each statement built once with its values bound.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import Integer, and_, bindparam, case, cast, literal, null, select, union_all
from sqlalchemy.exc import IntegrityError

from backend.catalog.models import Brand, Part, PriceBreakRow, Product
from backend.catalog.price_breaks import PriceBreak, break_for, line_total_fen, price_text
from backend.catalog.substitute_models import (
    CustomerBrandRule,
    SubstituteGroup,
    SubstituteGroupPart,
    SubstituteLink,
    SubstituteMemory,
    SubstituteRefusal,
)
from backend.errors import ApiError
from backend.extensions import db
from backend.timeutil import utcnow

MAX_OFFERS = 5
WHY = {
    "remembered": "you accepted this substitute for this part before",
    "approved": "an approved substitute (same key parameters, checked by the shop)",
    "same_spec": "identical key parameters from another brand (not yet checked by the shop)",
}
RANK = {"remembered": 0, "approved": 1, "same_spec": 2}
FACT_KINDS = ("rule", "memory", "refusal")  # _facts_statement's rows; a candidate's kind is its reason


@cache
def _candidates_statement():
    """The part's links, and its spec group's members while the group is proposed, with
    their brands: built once, the part bound (``:part_id``). Building it per short line
    cost more Python than the query took."""
    part_id = bindparam("part_id")
    m1, m2 = SubstituteGroupPart.__table__.alias("m1"), SubstituteGroupPart.__table__.alias("m2")
    groups = SubstituteGroup.__table__
    links = select(SubstituteLink.substitute_part_id.label("pid"),
                   case((SubstituteLink.allowed.is_(True), "approved"), else_="refused").label("reason")) \
        .where(SubstituteLink.part_id == part_id)
    same = select(m2.c.part_id.label("pid"), literal("same_spec").label("reason")) \
        .select_from(m1.join(groups, and_(groups.c.id == m1.c.group_id, groups.c.status == "proposed"))
                     .join(m2, m2.c.group_id == m1.c.group_id)) \
        .where(m1.c.part_id == part_id, m2.c.part_id != part_id)
    both = union_all(links, same).subquery("candidates")
    return select(both.c.pid, both.c.reason, Part.brand_id).join(Part, Part.id == both.c.pid)


@cache
def _facts_statement():
    """A customer's brand rules, remembered and refused substitutes for a part: built once,
    ``:user_id`` and ``:part_id`` bound."""
    user_id, part_id = bindparam("user_id"), bindparam("part_id")
    rules = select(literal("rule").label("kind"), CustomerBrandRule.brand_id.label("id"),
                   CustomerBrandRule.rule.label("rule")).where(CustomerBrandRule.user_id == user_id)
    memory = select(literal("memory"), SubstituteMemory.substitute_part_id, literal("")).where(
        SubstituteMemory.user_id == user_id, SubstituteMemory.part_id == part_id)
    refusals = select(literal("refusal"), SubstituteRefusal.substitute_part_id, literal("")).where(
        SubstituteRefusal.user_id == user_id, SubstituteRefusal.part_id == part_id)
    return union_all(rules, memory, refusals)


@cache
def _short_line_statement():
    """The candidates and the customer's facts in one round trip: (kind, id, rule, brand)
    rows, a candidate's kind its reason."""
    candidates = _candidates_statement().subquery("c")
    facts = _facts_statement().subquery("f")
    return union_all(
        select(candidates.c.reason, candidates.c.pid, literal(""), candidates.c.brand_id),
        select(facts.c.kind, facts.c.id, facts.c.rule, cast(null(), Integer)))


def _candidates_of(rows) -> dict[int, tuple[str, int | None]]:
    """{substitute part id: (reason, brand id)}, before the customer's rules."""
    refused_by_shop = {pid for reason, pid, _ in rows if reason == "refused"}
    out: dict[int, tuple[str, int | None]] = {}
    for reason, pid, brand in rows:
        if reason == "approved" or (reason == "same_spec" and pid not in refused_by_shop and pid not in out):
            out[pid] = (reason, brand)
    return out


def _facts_of(rows) -> tuple[set[int], set[int], int | None, set[int]]:
    """(approved brands, refused brands, remembered substitute, refused substitutes)."""
    approved, refused_brands, remembered, refused = set(), set(), None, set()
    for kind, ident, rule in rows:
        if kind == "rule":
            (approved if rule == "approved" else refused_brands).add(ident)
        elif kind == "memory":
            remembered = ident
        else:
            refused.add(ident)
    return approved, refused_brands, remembered, refused


def brand_rules(user_id: int) -> tuple[set[int], set[int]]:
    """(approved brand ids, refused brand ids) of a customer."""
    approved, refused, _, _ = _facts_of(db.session.execute(_facts_statement(), {"user_id": user_id, "part_id": 0}))
    return approved, refused


def orderable(quantity: int, moq: int, multiple: int) -> int:
    quantity = max(quantity, moq)
    return -(-quantity // multiple) * multiple


def _allowed(user_id: int, part_id: int) -> tuple[dict[int, str], set[int]]:
    rows = db.session.execute(_short_line_statement(), {"user_id": user_id, "part_id": part_id}).all()
    candidates = _candidates_of([(k, i, b) for k, i, _, b in rows if k not in FACT_KINDS])
    if not candidates:
        return {}, set()
    approved_brands, refused_brands, remembered, refused = _facts_of(
        [(k, i, r) for k, i, r, _ in rows if k in FACT_KINDS])
    out = {}
    for pid, (reason, brand) in candidates.items():
        if brand in refused_brands or (approved_brands and brand not in approved_brands):
            continue
        out[pid] = "remembered" if pid == remembered and pid not in refused else reason
    return out, refused


def allowed_substitutes(user_id: int, part_id: int) -> dict[int, str]:
    """{part id: reason} this customer may be offered for ``part_id`` (brand rules applied)."""
    return _allowed(user_id, part_id)[0]


def offers_view(user_id: int, product: Product, quantity: int) -> dict:
    """The offers ``POST /orders`` would make to this customer for this product at this
    quantity if it were short now (``schemas.OffersSchema``)."""
    return {"product_id": product.id, "requested": quantity, "available": product.stock,
            "offers": offers_for(user_id, product, quantity, min(product.stock, quantity - 1))}


def offers_for(user_id: int, product: Product, requested: int, available: int) -> list[dict]:
    """The ranked offers for one short line (the API.md shape, with the price at the
    ordered quantity and why each is offered)."""
    if product.part_id is None:
        return []
    allowed, refused = _allowed(user_id, product.part_id)
    if not allowed:
        return []
    lacking = requested - max(available, 0)
    rows, breaks = [], {}
    for row in db.session.execute(_offered_statement(), {"parts": list(allowed), "lacking": lacking,
                                                         "own": product.id}):
        if row.id not in breaks:
            rows.append(row)
            breaks[row.id] = []
        breaks[row.id].append(PriceBreak(row.min_qty, row.unit_price_micro))
    offers = []
    for offered in rows:
        quantity = orderable(requested, offered.moq, offered.order_multiple)
        unit = break_for(breaks[offered.id], quantity).unit_price_micro
        reason = allowed[offered.part_id]
        offers.append({"product_id": offered.id, "part_id": offered.part_id, "mpn": offered.mpn,
                       "brand": offered.brand_name or offered.brand or "", "price_fen": offered.price_fen,
                       "stock": offered.stock, "quantity": quantity, "unit_price": price_text(unit),
                       "amount_fen": line_total_fen(quantity, unit),
                       "reason": reason, "why": WHY[reason], "refused_before": offered.part_id in refused})
    offers.sort(key=lambda o: (o["refused_before"], RANK[o["reason"]], o["amount_fen"], o["product_id"]))
    return offers[:MAX_OFFERS]


@cache
def _offered_statement():
    """The active products of the allowed parts (``:parts``) that cover what is lacking
    (``:lacking``), other than the short one (``:own``), with their MPN, brand and price
    breaks: a row per break, in order."""
    return select(Product.id, Product.part_id, Product.brand, Product.price_fen, Product.stock, Product.moq,
                  Product.order_multiple, Part.part_no.label("mpn"), Brand.name.label("brand_name"),
                  PriceBreakRow.min_qty, PriceBreakRow.unit_price_micro) \
        .join(Part, Part.id == Product.part_id).outerjoin(Brand, Brand.id == Part.brand_id) \
        .join(PriceBreakRow, PriceBreakRow.product_id == Product.id) \
        .where(Product.part_id.in_(bindparam("parts", expanding=True)), Product.active.is_(True),
               Product.stock >= bindparam("lacking"), Product.id != bindparam("own")) \
        .order_by(Product.id, PriceBreakRow.min_qty)


def check_accepted(user_id: int, substitute: Product, original: Product) -> None:
    """An order line that says ``substitute_for``: the substitute must be one this customer
    may be offered for the original part."""
    if (original.part_id is None or substitute.part_id is None
            or substitute.part_id not in allowed_substitutes(user_id, original.part_id)):
        raise ApiError("SUBSTITUTE_NOT_ALLOWED",
                       f"Product {substitute.id} is not a substitute this customer may take for product {original.id}",
                       details={"product_id": substitute.id, "substitute_for": original.id})


def remember(user_id: int, original_part_id: int, substitute_part_id: int, order_id: int) -> None:
    """The customer accepted: offered first next time; a refusal of it is forgotten."""
    db.session.query(SubstituteRefusal).filter_by(user_id=user_id, part_id=original_part_id,
                                                  substitute_part_id=substitute_part_id).delete()
    memory = db.session.get(SubstituteMemory, (user_id, original_part_id), with_for_update=True)
    if memory is None:
        try:
            with db.session.begin_nested():
                db.session.add(SubstituteMemory(user_id=user_id, part_id=original_part_id,
                                                substitute_part_id=substitute_part_id, order_id=order_id))
            return
        except IntegrityError:  # the customer's other order remembered first: ours is the later one
            memory = db.session.get(SubstituteMemory, (user_id, original_part_id), with_for_update=True)
    memory.substitute_part_id, memory.order_id, memory.accepted_at = substitute_part_id, order_id, utcnow()


def refuse(user_id: int, original: Product, substitute: Product) -> None:
    """The customer turned an offer down: it is not offered first again (and is no longer
    the remembered one)."""
    if original.part_id is None or substitute.part_id is None:
        raise ApiError("SUBSTITUTE_NOT_ALLOWED", "these products have no part to substitute")
    if db.session.get(SubstituteRefusal, (user_id, original.part_id, substitute.part_id)) is None:
        try:
            with db.session.begin_nested():
                db.session.add(SubstituteRefusal(user_id=user_id, part_id=original.part_id,
                                                 substitute_part_id=substitute.part_id))
        except IntegrityError:
            pass  # refused twice at once: once is what counts
    db.session.query(SubstituteMemory).filter_by(user_id=user_id, part_id=original.part_id,
                                                 substitute_part_id=substitute.part_id).delete()
    db.session.flush()
