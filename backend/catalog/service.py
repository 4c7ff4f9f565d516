"""Products and stock. Stock moves only through conditional UPDATEs."""

from __future__ import annotations

from sqlalchemy import or_, select, update

from backend.admin import audit
from backend.apidoc import get_or_404
from backend.catalog.models import Product
from backend.extensions import db

EDITABLE = ("title", "brand", "part_no", "price_fen", "stock", "level1_bp", "level2_bp",
            "level1_fixed_fen", "level2_fixed_fen", "active")


def _fields(product: Product) -> dict:
    return {k: getattr(product, k) for k in EDITABLE}


def create_product(data: dict) -> Product:
    product = Product(**{k: v for k, v in data.items() if k in EDITABLE})
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
