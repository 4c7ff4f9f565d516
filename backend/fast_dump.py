"""A marshmallow schema's dump compiled once into plain Python, for the hot list answers.

marshmallow finds and calls every field of every object at dump time: 0.13 ms per
product of a search page here, a fifth of a 50-product answer (bench/catalog.py).
``compiled(schema)`` reads the schema's fields once and returns a function that makes
the same dict: integers, strings and booleans converted as marshmallow converts them,
nested schemas and lists of them compiled the same way, and any other field through its
own ``serialize``. The schema stays the contract (the OpenAPI document is built from it);
tests/test_fast_dump.py holds the compiled dump equal to ``schema.dump``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from flask import Response, jsonify
from marshmallow import Schema, fields
from marshmallow.utils import get_value, missing


def _plain(kind) -> Callable:
    return lambda value: None if value is None else kind(value)


def _converter(field: fields.Field) -> Callable | None:
    """value -> dumped value for the field kinds compiled; None: use the field's serialize."""
    if field.dump_default is not missing or getattr(field, "as_string", False):
        return None
    if type(field) in (fields.Integer, fields.Int):
        return _plain(int)
    if type(field) in (fields.String, fields.Str):
        return _plain(str)
    if type(field) in (fields.Boolean, fields.Bool):
        return _plain(bool)
    if (type(field) is fields.Nested and not field.many and not field.only and not field.exclude
            and isinstance(field.nested, type)):
        inner = compiled(field.nested)
        return lambda value: None if value is None else inner(value)
    if type(field) is fields.List and type(field.inner) is fields.Nested and not field.inner.many:
        item = _converter(field.inner)
        return lambda value: None if value is None else [item(v) for v in value]
    if type(field).__module__ != fields.__name__:  # the project's own (UnitPrice, Timestamp): value -> text
        return lambda value, serialize=field._serialize: serialize(value, None, None)
    return None


def _reader(attribute: str) -> Callable:
    if "." in attribute:
        return lambda obj: get_value(obj, attribute, missing)

    def read(obj):
        if isinstance(obj, dict):
            return obj.get(attribute, missing)
        return getattr(obj, attribute, missing)
    return read


@cache
def compiled(schema_class: type[Schema]) -> Callable[[object], dict]:
    """The dump of ``schema_class`` (its plain ``dump`` when it has dump hooks)."""
    schema = schema_class()
    if any(schema._hooks[k] for k in ("pre_dump", "post_dump")):
        return schema.dump
    steps = [(field.data_key or name, _step(schema, name, field)) for name, field in schema.dump_fields.items()]

    def dump(obj) -> dict:
        out = {}
        for key, step in steps:
            value = step(obj)
            if value is not missing:
                out[key] = value
        return out
    return dump


def _step(schema: Schema, name: str, field: fields.Field) -> Callable:
    """obj -> the field's dumped value, or ``missing`` (the key is left out, as marshmallow does)."""
    convert = _converter(field)
    if convert is None:  # the field's own serialize (it knows missing values and defaults)
        return lambda obj: field.serialize(name, obj, accessor=schema.get_attribute)
    read = _reader(field.attribute or name)

    def step(obj):
        value = read(obj)
        return missing if value is missing else convert(value)
    return step


def respond(schema_class: type[Schema], result) -> Response:
    """The JSON answer ``@blp.response(200, schema_class)`` would make of ``result``; a
    view returns it as is (flask-smorest passes a Response through)."""
    return jsonify(compiled(schema_class)(result))
