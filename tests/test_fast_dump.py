"""The compiled dump (backend/fast_dump.py) makes what the schema's own dump makes, for the
schemas it serves (the product lists) and for the field kinds it compiles or hands back."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from marshmallow import Schema, fields, post_dump

from backend.catalog import schemas
from backend.fast_dump import compiled


def _product(n: int, part: bool, breaks: int, params: int, admin: bool = False):
    p = SimpleNamespace(
        id=n, title=f"Part {n}", brand=None if n % 3 == 0 else "风华", part_no=f"CC{n}", price_fen=n * 7,
        stock=0 if n % 2 else 10 ** 6, moq=1 + n % 4, order_multiple=1,
        price_breaks=[SimpleNamespace(min_qty=10 ** i, unit_price_micro=9 - i) for i in range(breaks)],
        part_id=n if part else None,
        part=SimpleNamespace(
            id=n, part_no=f"CC{n}", brand="Fenghua", brand_id=3, category="mlcc", package="0402",
            description="", datasheet_url=None, lifecycle="active", capacitance_ff=100_000_000, voltage_mv=None,
            dielectric="X7R", tolerance="10%", resistance_mohm=None, power_mw=None,
            params=[SimpleNamespace(name=f"k{i}", value=f"v{i}") for i in range(params)]) if part else None)
    if admin:
        p.level1_bp, p.level2_bp, p.level1_fixed_fen, p.level2_fixed_fen = 100, None, None, 5
        p.active, p.created_at = n % 2 == 0, datetime(2026, 12, 7, 1, 2, 3, 456_789, tzinfo=UTC)
    return p


def _page(admin: bool) -> dict:
    items = [_product(n, part=n % 4 != 0, breaks=n % 3, params=n % 2, admin=admin) for n in range(1, 13)]
    if not admin:  # the public shape is a dict (catalog.api.product_view)
        items = [{k: getattr(p, k) for k in ("id", "title", "brand", "part_no", "price_fen", "stock", "moq",
                                              "order_multiple", "price_breaks", "part_id", "part")} for p in items]
    return {"items": items, "page": 2, "per_page": 12, "total": 40,
            "facets": {"brand": [{"value": "Murata", "count": 3}], "package": []}}


def test_the_product_pages_dump_as_their_schemas_do():
    for schema, admin in ((schemas.ProductPage, False), (schemas.AdminProductPage, True)):
        page = _page(admin)
        assert compiled(schema)(page) == schema().dump(page)
        empty = {"items": [], "page": 1, "per_page": 20, "total": 0, "facets": None}
        assert compiled(schema)(empty) == schema().dump(empty)
    one = _page(True)["items"][0]
    dumped = compiled(schemas.AdminProductSchema)(one)
    assert dumped["created_at"] == "2026-12-07T01:02:03.456789+00:00"
    assert dumped["price_breaks"] == [{"min_qty": 1, "unit_price": "0.000009"}]


class Hooked(Schema):
    n = fields.Integer()

    @post_dump
    def _double(self, data, **kwargs):
        return {"n": data["n"] * 2}


class Odd(Schema):
    a = fields.Integer(attribute="x.y")
    b = fields.String(dump_default="none")
    c = fields.Method("_c")
    d = fields.Integer(data_key="D")
    e = fields.Float()

    def _c(self, obj):
        return "c!"


def test_what_it_does_not_compile_it_leaves_to_marshmallow():
    assert compiled(Hooked)({"n": 2}) == Hooked().dump({"n": 2}) == {"n": 4}
    for obj in ({"x": {"y": 5}, "d": 7, "e": 1}, {"x": {"y": 5}, "b": "here"}, {}):
        assert compiled(Odd)(obj) == Odd().dump(obj)
