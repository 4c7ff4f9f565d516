from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from backend.catalog import values
from backend.catalog.models import LIFECYCLES
from backend.catalog.price_breaks import parse_unit_price, price_text
from backend.reconciliation.schemas import RejectedRow
from backend.schemas import PageArgs, Timestamp, list_schema

_bp = validate.Range(min=0, max=10000)
_fen = validate.Range(min=0, max=2**31 - 1)  # the columns are 32-bit, as is WeChat's total_fee


_qty = validate.Range(min=1, max=10**9)


class UnitPrice(fields.Field):
    """A unit price in yuan, a decimal string with up to six places ("0.0065"), held as
    integer micro-yuan (docs/catalog.md). A JSON number is refused: it may be a float."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"type": "string", "example": "0.006500",
                                   "description": "yuan, a decimal string with up to six places"}, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else price_text(value)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("a decimal string, e.g. \"0.0065\"")
        try:
            return parse_unit_price(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class PriceBreakSchema(Schema):
    min_qty = fields.Integer(required=True, validate=_qty, strict=True)
    unit_price = UnitPrice(required=True, attribute="unit_price_micro", data_key="unit_price")


class PriceBreakArgs(Schema):
    min_qty = fields.Integer(required=True, validate=_qty, strict=True)
    unit_price = UnitPrice(required=True)


class CatalogPartParamSchema(Schema):
    name = fields.String()
    value = fields.String()


class CatalogPartSchema(Schema):
    id = fields.Integer()
    mpn = fields.String(attribute="part_no", metadata={"description": "the MPN as first written"})
    brand = fields.String(metadata={"description": "the brand's name (aliases resolved)"})
    brand_id = fields.Integer(allow_none=True)
    category = fields.String()
    package = fields.String()
    description = fields.String()
    datasheet_url = fields.String(allow_none=True)
    lifecycle = fields.String(metadata={"description": ", ".join(LIFECYCLES)})
    capacitance_ff = fields.Integer(allow_none=True, metadata={"description": "femtofarad (1 pF = 1000)"})
    voltage_mv = fields.Integer(allow_none=True)
    dielectric = fields.String(allow_none=True)
    tolerance = fields.String(allow_none=True, metadata={"example": "10%"})
    resistance_mohm = fields.Integer(allow_none=True, metadata={"description": "milliohm"})
    power_mw = fields.Integer(allow_none=True)
    params = fields.List(fields.Nested(CatalogPartParamSchema))


class ProductSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    brand = fields.String(allow_none=True)
    part_no = fields.String(allow_none=True)
    price_fen = fields.Integer(metadata={"description": "the first price break's unit price, rounded half-up"})
    stock = fields.Integer()
    moq = fields.Integer()
    order_multiple = fields.Integer()
    price_breaks = fields.List(fields.Nested(PriceBreakSchema))
    part_id = fields.Integer(allow_none=True, metadata={
        "description": "the part of the part master this product sells (by part number and brand)"})
    part = fields.Nested(CatalogPartSchema, allow_none=True, metadata={"description": "in search answers"})


class AdminProductSchema(ProductSchema):
    level1_bp = fields.Integer(allow_none=True)
    level2_bp = fields.Integer(allow_none=True)
    level1_fixed_fen = fields.Integer(allow_none=True)
    level2_fixed_fen = fields.Integer(allow_none=True)
    active = fields.Boolean()
    created_at = Timestamp()


class ProductCreateArgs(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    brand = fields.String(validate=validate.Length(max=100), allow_none=True)
    part_no = fields.String(validate=validate.Length(max=100), allow_none=True)
    price_fen = fields.Integer(validate=_fen, strict=True,
                               metadata={"description": "one price from the MOQ on; or give price_breaks"})
    stock = fields.Integer(required=True, validate=validate.Range(min=0, max=10**9), strict=True)
    moq = fields.Integer(validate=_qty, strict=True)
    order_multiple = fields.Integer(validate=_qty, strict=True)
    price_breaks = fields.List(fields.Nested(PriceBreakArgs), validate=validate.Length(min=1, max=20),
                               metadata={"description": "replaces the breaks; the first starts at the MOQ"})
    level1_bp = fields.Integer(validate=_bp, allow_none=True, strict=True)
    level2_bp = fields.Integer(validate=_bp, allow_none=True, strict=True)
    level1_fixed_fen = fields.Integer(validate=_fen, allow_none=True, strict=True)
    level2_fixed_fen = fields.Integer(validate=_fen, allow_none=True, strict=True)
    active = fields.Boolean()

    @validates_schema
    def _a_price(self, data, **kwargs):
        if "price_fen" not in data and not data.get("price_breaks"):
            raise ValidationError("give price_fen or price_breaks", "price_fen")


class ProductUpdateArgs(ProductCreateArgs):
    title = fields.String(validate=validate.Length(min=1, max=200))
    price_fen = fields.Integer(validate=_fen, strict=True)
    stock = fields.Integer(validate=validate.Range(min=0, max=10**9), strict=True)

    def _a_price(self, data, **kwargs):  # an update may leave the price alone
        pass


class Measure(fields.Field):
    """A parameter value with its unit ("100nF", "16V", "10k"), in the part master's unit."""

    def __init__(self, parse, example: str, **kwargs):
        self.parse = parse
        super().__init__(metadata={"type": "string", "example": example}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return self.parse(str(value))
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class OneOf(fields.Field):
    """A comma-separated list ("X7R,X5R"), each normalised by ``parse``; at most 20."""

    def __init__(self, parse=None, example: str = "", **kwargs):
        self.parse = parse or (lambda v: v.strip())
        super().__init__(metadata={"type": "string", "example": example, "description": "comma-separated"}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        items = [v for v in str(value).split(",") if v.strip()]
        if not items or len(items) > 20 or len(str(value)) > 400:
            raise ValidationError("one to 20 comma-separated values")
        try:
            return sorted({self.parse(v) for v in items})
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


def _ranged(name: str, parse, example: str) -> dict:
    return {name: Measure(parse, example), f"{name}_min": Measure(parse, example),
            f"{name}_max": Measure(parse, example)}


SearchFilters = Schema.from_dict({
    "category": OneOf(lambda v: v.strip().lower(), "mlcc"),
    "package": OneOf(values.package, "0402,0603"),
    "brand": OneOf(lambda v: v.strip(), "Murata,风华"),
    "dielectric": OneOf(values.dielectric, "X7R,X5R"),
    "tolerance": OneOf(values.tolerance, "10%"),
    "lifecycle": OneOf(lambda v: v.strip().lower(), "active"),
    "in_stock": fields.Boolean(),
    **_ranged("capacitance", values.capacitance_ff, "100nF"),
    **_ranged("voltage", values.voltage_mv, "16V"),
    **_ranged("resistance", values.resistance_mohm, "10k"),
    **_ranged("power", values.power_mw, "1/16W"),
}, name="SearchFilters")


class ProductListArgs(PageArgs, SearchFilters):
    q = fields.String(validate=validate.Length(max=100), metadata={"description": "a prefix of the MPN"})


class FacetSchema(Schema):
    value = fields.String()
    count = fields.Integer()


FACETS = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(FacetSchema)), allow_none=True,
                     metadata={"description": "counts by category, package, brand and dielectric over the matches;"
                                              " null without a filter"})
ProductPage = list_schema(ProductSchema, "ProductPage", facets=FACETS)


class AdminProductListArgs(PageArgs, SearchFilters):
    q = fields.String(validate=validate.Length(min=1, max=100),
                      metadata={"description": "a prefix of the title, part number or brand"})
    mpn = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "a prefix of the MPN"})


AdminProductPage = list_schema(AdminProductSchema, "AdminProductPage", facets=FACETS)


class CatalogImportReportSchema(Schema):
    rows = fields.Integer()
    accepted = fields.Integer()
    rejected = fields.List(fields.Nested(RejectedRow))
    rejected_total = fields.Integer()
    rejected_not_listed = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()


class CatalogImportSchema(Schema):
    id = fields.Integer()
    filename = fields.String()
    state = fields.String(metadata={"description": "queued, running, done or failed"})
    progress_done = fields.Integer(metadata={"description": "rows written so far"})
    progress_total = fields.Integer(metadata={"description": "good rows to write (0 until the file is read)"})
    report = fields.Nested(CatalogImportReportSchema, metadata={"description": "once done: the row-level report"})
    error = fields.String(metadata={"description": "why a failed import failed (IMPORT_UNREADABLE: …)"})
    created_at = Timestamp()
    done_at = Timestamp(allow_none=True)
