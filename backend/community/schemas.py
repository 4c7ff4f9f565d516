from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from backend.community.models import EVENT_TYPES
from backend.schemas import Timestamp

MAX_BATCH = 100
# ids are 32-bit INTEGER columns: a larger number is a bad request, not a database error (500)
_id = validate.Range(min=1, max=2**31 - 1)
_members = validate.Range(min=0, max=1_000_000)


class EventIn(Schema):
    class Meta:
        unknown = RAISE

    type = fields.String(required=True, validate=validate.OneOf(EVENT_TYPES))
    share_code = fields.String(allow_none=True, validate=validate.Length(max=32))
    page = fields.String(allow_none=True, validate=validate.Length(max=128))
    target = fields.String(allow_none=True, validate=validate.Length(max=64))
    client_ts = Timestamp(allow_none=True)  # ISO 8601; without an offset it is taken as UTC
    order_id = fields.Integer(strict=True, allow_none=True, validate=_id, metadata={
        "description": "open/save of the group invite shown after paying this order (the buyer's own)"})


class EventBatch(Schema):
    class Meta:
        unknown = RAISE

    events = fields.List(fields.Nested(EventIn), required=True,
                         validate=validate.Length(min=1, max=MAX_BATCH))
    device_id = fields.String(allow_none=True, validate=[validate.Length(min=1, max=64),
                                                         validate.Regexp(r"^[A-Za-z0-9._:-]+$")],
                              metadata={"description": "the mini-program's device id (risk control, docs/risk.md)"})


class EventsAccepted(Schema):
    accepted = fields.Integer()


# ---- group invites ----------------------------------------------------------------------

class GroupBrief(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String(metadata={"description": "personal | wecom"})


class GroupInviteOut(Schema):
    order_id = fields.Integer()
    group = fields.Nested(GroupBrief)
    text = fields.String(metadata={"description": "the short text shown with the QR"})
    qr_image_url = fields.String(allow_none=True, metadata={
        "description": "the group QR: our image URL for a personal group, the join way's QR for 企业微信"})
    contact_qr_url = fields.String(allow_none=True, metadata={"description": "联系我 QR, when the shop uses one"})
    expires_at = Timestamp(allow_none=True)
    shown_at = Timestamp()
    opened = fields.Boolean()
    joined = fields.Boolean()


class LiveCodeIn(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    text = fields.String(validate=validate.Length(max=200))
    product_id = fields.Integer(strict=True, allow_none=True, validate=_id)
    campaign_id = fields.Integer(strict=True, allow_none=True, validate=_id)
    distributor_id = fields.Integer(strict=True, allow_none=True, validate=_id)
    priority = fields.Integer(strict=True, validate=validate.Range(min=-1000, max=1000))
    low_water = fields.Integer(strict=True, validate=validate.Range(min=0, max=1000), metadata={
        "description": "alert when this many offerable groups or fewer are left (default 1)"})
    contact_userid = fields.String(allow_none=True, validate=validate.Length(min=1, max=64), metadata={
        "description": "企业微信 staff userid: also offer a 联系我 contact way"})


class LiveCodeOut(Schema):
    id = fields.Integer()
    name = fields.String()
    text = fields.String()
    product_id = fields.Integer(allow_none=True)
    campaign_id = fields.Integer(allow_none=True)
    distributor_id = fields.Integer(allow_none=True)
    priority = fields.Integer()
    low_water = fields.Integer()
    contact_userid = fields.String(allow_none=True)
    active = fields.Boolean()


class GroupIn(Schema):
    class Meta:
        unknown = RAISE

    live_code_id = fields.Integer(strict=True, required=True, validate=_id)
    kind = fields.String(required=True, validate=validate.OneOf(("personal", "wecom")))
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    chat_id = fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "企业微信 group"})
    qr_image = fields.String(metadata={"description": "personal group: the QR image, PNG or JPEG, base64"})
    expires_at = Timestamp(metadata={"description": "personal group: when the QR expires (default +7 days)"})
    capacity = fields.Integer(strict=True, validate=validate.Range(min=1, max=100000))
    member_count = fields.Integer(strict=True, validate=_members)


class GroupUpdate(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(validate=validate.Length(min=1, max=64))
    status = fields.String(validate=validate.OneOf(("open", "closed")))
    capacity = fields.Integer(strict=True, validate=validate.Range(min=1, max=100000))
    member_count = fields.Integer(strict=True, validate=_members)
    qr_image = fields.String(metadata={"description": "a new QR (personal group)"})
    expires_at = Timestamp()


class GroupOut(Schema):
    id = fields.Integer()
    live_code_id = fields.Integer()
    kind = fields.String()
    name = fields.String()
    chat_id = fields.String(allow_none=True)
    capacity = fields.Integer()
    member_count = fields.Integer()
    expires_at = Timestamp(allow_none=True)
    status = fields.String()
    offerable = fields.Boolean(metadata={"description": "open, not full, not expiring within a day"})
    qr_image_path = fields.String(allow_none=True)


class GroupList(Schema):
    items = fields.List(fields.Nested(GroupOut))


class AttentionArgs(Schema):
    fill_ratio = fields.Float(load_default=0.9, validate=validate.Range(min=0, max=1))
    within_hours = fields.Integer(load_default=48, validate=validate.Range(min=1, max=24 * 30))


class MemberIn(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    order_id = fields.Integer(strict=True, allow_none=True, validate=_id)
    joined_at = Timestamp(allow_none=True)


class MembersImport(Schema):
    class Meta:
        unknown = RAISE

    members = fields.List(fields.Nested(MemberIn), required=True, validate=validate.Length(max=5000))


class ImportResult(Schema):
    member_count = fields.Integer()
    joins_recorded = fields.Integer()


class ConfirmJoinIn(Schema):
    class Meta:
        unknown = RAISE

    group_id = fields.Integer(strict=True, validate=_id, metadata={"description": "default: the invite's"})
    name = fields.String(validate=validate.Length(max=64))


class ConfirmJoinOut(Schema):
    order_id = fields.Integer()
    recorded = fields.Boolean(metadata={"description": "false when the join was known already"})


class AlertOut(Schema):
    id = fields.Integer()
    live_code_id = fields.Integer()
    kind = fields.String()
    message = fields.String()
    usable_groups = fields.Integer()
    created_at = Timestamp()
    resolved_at = Timestamp(allow_none=True)


class AlertList(Schema):
    items = fields.List(fields.Nested(AlertOut))


class AlertArgs(Schema):
    open = fields.Boolean(load_default=True, metadata={"description": "only alerts not resolved yet"})


class FunnelArgs(Schema):
    from_ = fields.Date(data_key="from", required=True, metadata={"description": "first day (Asia/Shanghai)"})
    to = fields.Date(required=True, metadata={"description": "day after the last (exclusive)"})
    by = fields.String(load_default="day", validate=validate.OneOf(("day", "distributor", "product", "group")))


class FunnelFigures(Schema):
    paid_orders = fields.Integer(allow_none=True, metadata={"description": "null by group"})
    shown = fields.Integer()
    opened = fields.Integer()
    saved = fields.Integer()
    joined = fields.Integer()
    contacts = fields.Integer(metadata={"description": "added as a 企业微信 contact"})
    join_seconds = fields.Integer(metadata={"description": "sum of shown → joined"})
    join_rate = fields.Float(allow_none=True, metadata={"description": "joined / paid_orders"})
    show_rate = fields.Float(allow_none=True)
    open_rate = fields.Float(allow_none=True, metadata={"description": "opened / shown"})
    join_rate_of_shown = fields.Float(allow_none=True)
    avg_join_seconds = fields.Float(allow_none=True)


class FunnelRow(FunnelFigures):
    key = fields.Raw(metadata={"description": "the day (YYYY-MM-DD) or the id (0: none)"})
    label = fields.String(allow_none=True)


class FunnelResult(Schema):
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    by = fields.String()
    totals = fields.Nested(FunnelFigures)
    rows = fields.List(fields.Nested(FunnelRow))
