"""Products and stock. Stock moves only through conditional UPDATEs."""

from __future__ import annotations

from sqlalchemy import or_, select, update

from backend.admin import audit
from backend.apidoc import get_or_404
from backend.catalog import parts as catalog_parts
from backend.catalog import search_columns
from backend.catalog.models import PriceBreakRow, Product
from backend.catalog.price_breaks import MICRO_PER_FEN, PriceBreak, check_breaks, price_text, rounded_fen
from backend.errors import ApiError
from backend.extensions import db

EDITABLE = ("title", "brand", "part_no", "price_fen", "stock", "level1_bp", "level2_bp",
            "level1_fixed_fen", "level2_fixed_fen", "active", "moq", "order_multiple")


def _fields(product: Product) -> dict:
    fields = {k: getattr(product, k) for k in EDITABLE}
    breaks = product.price_breaks
    # One break at price_fen says nothing price_fen does not: the audit names breaks only when they say more.
    plain = len(breaks) == 1 and breaks[0].unit_price_micro == product.price_fen * MICRO_PER_FEN
    fields["price_breaks"] = None if plain else [[b.min_qty, price_text(b.unit_price_micro)] for b in breaks]
    return fields


def breaks_of(product: Product) -> list[PriceBreak]:
    return [PriceBreak(b.min_qty, b.unit_price_micro) for b in product.price_breaks]


def _wanted_breaks(product: Product, data: dict) -> list[PriceBreak]:
    """The breaks the product will have: the ones given; else its own, the first one
    moved to the MOQ and priced at a ``price_fen`` given that differs from its rounded price."""
    if data.get("price_breaks") is not None:
        return sorted(PriceBreak(b["min_qty"], b["unit_price"]) for b in data["price_breaks"])
    breaks = breaks_of(product) or [PriceBreak(product.moq, product.price_fen * MICRO_PER_FEN)]
    first = breaks[0]
    # A form that sends price_fen back unchanged (the console's) leaves a sub-fen first price alone.
    if "price_fen" in data and data["price_fen"] != rounded_fen(first.unit_price_micro):
        first = PriceBreak(first.min_qty, data["price_fen"] * MICRO_PER_FEN)
    return [PriceBreak(product.moq, first.unit_price_micro), *breaks[1:]]


def _apply_breaks(product: Product, data: dict) -> None:
    """Check the breaks against the MOQ and multiple (VALIDATION_ERROR, nothing saved)
    and store them; ``price_fen`` follows the first break."""
    breaks = _wanted_breaks(product, data)
    try:
        check_breaks(breaks, product.moq, product.order_multiple)
    except ValueError as exc:
        raise ApiError("VALIDATION_ERROR", str(exc), details={"json": {"price_breaks": [str(exc)]}}) from exc
    if breaks != breaks_of(product):
        product.price_breaks.clear()
        db.session.flush()  # the old rows go before new ones take their (product, min_qty)
        product.price_breaks.extend(PriceBreakRow(min_qty=b.min_qty, unit_price_micro=b.unit_price_micro)
                                    for b in breaks)
    product.price_fen = rounded_fen(breaks[0].unit_price_micro)


def _link_part(product: Product) -> None:
    """The product sells the part its (part number, brand) names, made when missing;
    none without a part number (docs/catalog.md, "Part master")."""
    part = None
    if (product.part_no or "").strip() and len(product.part_no.strip()) <= 64:
        part, _ = catalog_parts.ensure_part(product.part_no, product.brand, description=product.title[:500])
    product.part_id = part.id if part else None
    for column, value in search_columns.copied(part).items():
        setattr(product, column, value)


def create_product(data: dict) -> Product:
    product = Product(**{k: v for k, v in data.items() if k in EDITABLE})
    product.moq, product.order_multiple = data.get("moq", 1), data.get("order_multiple", 1)
    product.price_fen = data.get("price_fen", 0)
    _apply_breaks(product, data)
    _link_part(product)
    db.session.add(product)
    db.session.flush()
    audit.record_change("product", product.id, {}, {k: v for k, v in _fields(product).items() if v is not None})
    return product


def update_product(product_id: int, data: dict) -> Product:
    product = get_product(product_id)
    before = _fields(product)
    for key, value in data.items():
        if key in EDITABLE:
            setattr(product, key, value)
    _apply_breaks(product, data)
    if "part_no" in data or "brand" in data:
        _link_part(product)
    db.session.flush()
    audit.record_change("product", product.id, *audit.changed(before, _fields(product)))
    return product


def get_product(product_id: int) -> Product:
    return get_or_404(Product, product_id)


def list_products_query(q: str | None = None):
    stmt = select(Product).where(Product.active.is_(True)).order_by(Product.id)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(Product.title.ilike(like) | Product.part_no.ilike(like) | Product.brand.ilike(like))
    return stmt


def admin_products_query(q: str | None = None):
    """Every product (inactive ones too), newest first; ``q`` a prefix of the title,
    the part number or the brand, case-insensitive."""
    stmt = select(Product).order_by(Product.id.desc())
    if q and q.strip():
        escaped = q.strip().replace("/", "//").replace("%", "/%").replace("_", "/_")  # "/": no dialect quirks
        prefix = f"{escaped}%"
        stmt = stmt.where(or_(*(column.ilike(prefix, escape="/")
                                for column in (Product.title, Product.part_no, Product.brand))))
    return stmt


def reserve(product_id: int, quantity: int) -> bool:
    """Take ``quantity`` units if that many are left. The WHERE makes it atomic."""
    result = db.session.execute(
        update(Product)
        .where(Product.id == product_id, Product.stock >= quantity)
        .values(stock=Product.stock - quantity)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def release(product_id: int, quantity: int) -> None:
    db.session.execute(
        update(Product).where(Product.id == product_id).values(stock=Product.stock + quantity)
        .execution_options(synchronize_session=False)
    )
