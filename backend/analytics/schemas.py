from __future__ import annotations

from marshmallow import Schema, fields, validate


class DepthArgs(Schema):
    root_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))


class DepthRow(Schema):
    depth = fields.Integer()
    users = fields.Integer()


class DepthResult(Schema):
    root_id = fields.Integer(allow_none=True)
    total = fields.Integer()
    depths = fields.List(fields.Nested(DepthRow))


class FissionArgs(Schema):
    from_ = fields.Date(data_key="from", required=True, metadata={"description": "first day (Asia/Shanghai)"})
    to = fields.Date(required=True, metadata={"description": "day after the last (exclusive, Asia/Shanghai)"})
    root_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                             metadata={"description": "restrict to one tree"})


class FissionFigures(Schema):
    shares = fields.Integer(metadata={"description": "share events"})
    visitors = fields.Integer(metadata={"description": "distinct signed-in visitors through a share code"})
    anonymous_visits = fields.Integer(metadata={"description": "visit events with a share code and no token"})
    binds = fields.Integer(metadata={"description": "distinct users bound by login, order or bind"})
    first_orders = fields.Integer(metadata={"description": "first paid orders of users bound in the range"})
    participants = fields.Integer(metadata={"description": "distinct signed-in senders of share events"})
    new_customers = fields.Integer(metadata={"description": "new customers brought by shares"})
    reflow = fields.Integer(metadata={"description": "distinct past buyers back through a share link"})
    paid_orders = fields.Integer()
    level2_orders = fields.Integer(metadata={"description": "paid orders that paid a level-2 commission"})
    k_factor = fields.Float(allow_none=True, metadata={"description": "new_customers / participants"})
    level2_share = fields.Float(allow_none=True, metadata={"description": "level2_orders / paid_orders"})


class FissionDay(FissionFigures):
    date = fields.Date()


class FissionTotals(FissionFigures):
    distributors = fields.Integer(metadata={"description": "distributors with a paid order as level 1"})
    top_distributors = fields.Integer(metadata={"description": "ceil(20 % of distributors)"})
    top_orders = fields.Integer(metadata={"description": "paid orders brought by the top distributors"})
    top_share = fields.Float(allow_none=True, metadata={"description": "top_orders / paid_orders"})


class FissionResult(Schema):
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    root_id = fields.Integer(allow_none=True)
    totals = fields.Nested(FissionTotals)
    days = fields.List(fields.Nested(FissionDay))
