from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from backend.community.models import EVENT_TYPES

MAX_BATCH = 100


class EventIn(Schema):
    class Meta:
        unknown = RAISE

    type = fields.String(required=True, validate=validate.OneOf(EVENT_TYPES))
    share_code = fields.String(allow_none=True, validate=validate.Length(max=32))
    page = fields.String(allow_none=True, validate=validate.Length(max=128))
    target = fields.String(allow_none=True, validate=validate.Length(max=64))
    client_ts = fields.DateTime(allow_none=True)  # ISO 8601; without an offset it is taken as UTC


class EventBatch(Schema):
    class Meta:
        unknown = RAISE

    events = fields.List(fields.Nested(EventIn), required=True,
                         validate=validate.Length(min=1, max=MAX_BATCH))


class EventsAccepted(Schema):
    accepted = fields.Integer()
