"""Signatures and ciphers of the WeChat wire formats, written from the published specs.

Deliberately independent of wechatpy/wechatpayv3: if both sides shared a helper, a bug
in it would cancel out and the sandbox would prove nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import string
from xml.parsers.expat import ExpatError
from xml.sax.saxutils import escape

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from backend.wechat import xml_safety

_ALPHABET = string.ascii_letters + string.digits


def nonce(length: int = 32) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


# ---- Pay v2: key=value&...&key=API_KEY, MD5 or HMAC-SHA256, upper-case hex ----------

def v2_sign(params: dict, api_key: str, sign_type: str = "MD5") -> str:
    # Empty values and the sign itself are excluded, as the v2 spec says.
    pairs = [f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] not in (None, "")]
    pairs.append(f"key={api_key}")
    text = "&".join(pairs).encode("utf-8")
    if sign_type == "HMAC-SHA256":
        return hmac.new(api_key.encode("utf-8"), text, hashlib.sha256).hexdigest().upper()
    return hashlib.md5(text).hexdigest().upper()


def v2_check(params: dict, api_key: str) -> bool:
    sign_type = params.get("sign_type") or "MD5"
    if sign_type not in ("MD5", "HMAC-SHA256"):
        return False
    given = params.get("sign") or ""
    return hmac.compare_digest(given, v2_sign(params, api_key, sign_type))


def to_xml(fields: dict) -> str:
    parts = ["<xml>"]
    for key, value in fields.items():
        if value is None:
            continue
        text = str(value)
        if text.isdigit():
            parts.append(f"<{key}>{text}</{key}>")
        else:
            # CDATA cannot contain "]]>": fall back to escaping for such (odd) values.
            body = f"<![CDATA[{text}]]>" if "]]>" not in text else escape(text)
            parts.append(f"<{key}>{body}</{key}>")
    parts.append("</xml>")
    return "".join(parts)


def parse_xml(raw: bytes | str, root: str = "xml") -> dict | None:
    # xml_safety first: disable_entities alone still reads a DTD (and declares its entities).
    try:
        doc = xml_safety.parse(raw)
    except (ExpatError, ValueError, TypeError):  # malformed or unsafe input is simply "not XML" to the caller
        return None
    data = doc.get(root) if isinstance(doc, dict) else None
    if not isinstance(data, dict):
        return None
    return {k: ("" if v is None else v) for k, v in data.items() if isinstance(v, (str, type(None)))}


def refund_encrypt(api_key: str, plaintext: str) -> str:
    """req_info of the refund notify: AES-256-ECB, key = lower-case md5 hex of the API key."""
    key = hashlib.md5(api_key.encode("utf-8")).hexdigest().lower().encode("ascii")
    padder = padding.PKCS7(128).padder()
    data = padder.update(plaintext.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # the spec mandates ECB
    return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode("ascii")


# ---- Pay v3: RSA-SHA256 (PKCS#1 v1.5) over newline-terminated lines, AES-256-GCM ----

def load_private_key(pem: str):
    return serialization.load_pem_private_key(pem.encode("utf-8"), password=None)


def load_public_key(pem: str):
    return serialization.load_pem_public_key(pem.encode("utf-8"))


def sign_lines(private_key, *lines: str) -> str:
    message = "".join(f"{line}\n" for line in lines).encode("utf-8")
    return base64.b64encode(private_key.sign(message, rsa_padding.PKCS1v15(), hashes.SHA256())).decode("ascii")


def verify_lines(public_key, signature_b64: str, *lines: str) -> bool:
    message = "".join(f"{line}\n" for line in lines).encode("utf-8")
    try:
        public_key.verify(base64.b64decode(signature_b64, validate=True), message,
                          rsa_padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


_AUTH_SCHEME = "WECHATPAY2-SHA256-RSA2048"
_AUTH_PAIR = re.compile(r'(\w+)="([^"]*)"')


def parse_authorization(header: str | None) -> dict | None:
    if not header or not header.startswith(_AUTH_SCHEME + " "):
        return None
    fields = dict(_AUTH_PAIR.findall(header[len(_AUTH_SCHEME) + 1:]))
    needed = {"mchid", "nonce_str", "signature", "timestamp", "serial_no"}
    return fields if needed <= fields.keys() else None


def aes_gcm_encrypt(apiv3_key: str, nonce_text: str, associated_data: str, plaintext: str) -> str:
    aes = AESGCM(apiv3_key.encode("utf-8"))
    sealed = aes.encrypt(nonce_text.encode("utf-8"), plaintext.encode("utf-8"), associated_data.encode("utf-8"))
    return base64.b64encode(sealed).decode("ascii")
