"""XML from outside passes here before any other parser sees it.

WeChat's XML (Pay v2 notifies and answers, 企业微信 callbacks and their decrypted
events) never carries a DTD, so any DTD is refused outright. That one rule covers
what a DTD brings: internal entities that expand exponentially (billion laughs: a
kilobyte in, gigabytes out), external entities (``file:///etc/passwd``, URLs fetched
from inside the network), and parameter entities. xmltodict's ``disable_entities``
only drops entity references from its result; the DTD is still read and its entities
still declared. ``defusedxml.defuse_stdlib()`` does not reach xmltodict or wechatpy
either: they create their own pyexpat parser. Hence this check, which needs nothing
beyond the standard library: a bare pyexpat parser whose DOCTYPE, entity-declaration
and external-reference handlers raise. It builds nothing, so it costs one scan of a
body that is already bounded by MAX_CONTENT_LENGTH, and it stops at the ``<!DOCTYPE``,
before a single entity is declared.
"""

from __future__ import annotations

from xml.parsers import expat

import xmltodict

__all__ = ["UnsafeXml", "check", "parse"]


class UnsafeXml(ValueError):
    """The body has a DTD or an entity, or is not well-formed XML. A ValueError, so
    callers that already refuse unreadable XML refuse this the same way."""


def _refuse(what: str):
    def handler(*_args):
        raise UnsafeXml(f"XML with {what} refused")
    return handler


def check(raw: bytes | str) -> None:
    """Raise UnsafeXml unless ``raw`` is well-formed XML without a DTD or any entity."""
    if not isinstance(raw, (bytes, str)):
        raise UnsafeXml("XML body is neither bytes nor text")
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse("a DTD")
    # Unreachable without a DTD; set anyway so that no later change of the first
    # handler can let an entity through.
    parser.EntityDeclHandler = _refuse("an entity declaration")
    parser.UnparsedEntityDeclHandler = _refuse("an unparsed entity")
    parser.ExternalEntityRefHandler = _refuse("an external entity")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(raw, True)
    except expat.ExpatError as exc:  # an undeclared &name; lands here too
        raise UnsafeXml(f"XML not well-formed: {exc}") from None


def parse(raw: bytes | str) -> dict:
    """xmltodict.parse of a checked body (raises UnsafeXml first)."""
    check(raw)
    return xmltodict.parse(raw, disable_entities=True)
