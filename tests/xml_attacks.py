"""Hostile XML for the XML endpoints' tests: each attack turns a valid body into one
carrying a DTD. The DTD alone keeps the body (and its signature) intact, so a parser
that ignores DTDs would accept it: only the refusal of the DTD itself stops it."""

from __future__ import annotations

_LOL = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
BILLION_LAUGHS = f'<!DOCTYPE xml [<!ENTITY lol0 "lol">{_LOL}]>'
EXTERNAL_ENTITY = '<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
DTD_ALONE = "<!DOCTYPE xml>"

ATTACKS = ("billion_laughs", "external_entity", "dtd_alone")


def hostile(body: bytes | str, attack: str, root: str = "xml") -> bytes:
    """``body`` with the attack's DTD in front and, for the entities, a reference to
    them in an extra element (a parser that drops entity references drops it again)."""
    text = body.decode() if isinstance(body, bytes) else body
    prolog = ""
    if text.startswith("<?xml"):
        prolog, text = text[:text.index("?>") + 2], text[text.index("?>") + 2:]
    dtd, ref = {"billion_laughs": (BILLION_LAUGHS.replace("xml", root, 1), "&lol9;"),
                "external_entity": (EXTERNAL_ENTITY.replace("xml", root, 1), "&xxe;"),
                "dtd_alone": (DTD_ALONE.replace("xml", root, 1), "")}[attack]
    if ref:
        text = text.replace(f"<{root}>", f"<{root}><attach>{ref}</attach>", 1)
    return (prolog + dtd + text).encode()
