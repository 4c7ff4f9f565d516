"""A WeChat Pay v2 payment notify, built the way WeChat builds it.

Fields as WeChat sends them for a JSAPI payment; ``sign`` is MD5 over the
non-empty fields sorted by name as ``k=v&...`` plus ``&key=API_KEY``, upper-case hex.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from datetime import datetime, timedelta, timezone

CN = timezone(timedelta(hours=8))
_NONCE_ALPHABET = string.ascii_letters + string.digits


def v2_sign(fields: dict, api_key: str) -> str:
    pairs = [f"{k}={fields[k]}" for k in sorted(fields) if k != "sign" and fields[k] not in (None, "")]
    pairs.append(f"key={api_key}")
    return hashlib.md5("&".join(pairs).encode("utf-8")).hexdigest().upper()  # noqa: S324 - WeChat Pay v2's signature


def to_xml(fields: dict) -> str:
    parts = ["<xml>"]
    for key, value in fields.items():
        text = str(value)
        parts.append(f"<{key}>{text}</{key}>" if text.isdigit() else f"<{key}><![CDATA[{text}]]></{key}>")
    parts.append("</xml>")
    return "".join(parts)


def payment_notify(*, appid: str, mch_id: str, api_key: str, out_trade_no: str, total_fen: int, openid: str,
                   transaction_id: str) -> bytes:
    fields = {
        "appid": appid,
        "bank_type": "OTHERS",
        "cash_fee": total_fen,
        "fee_type": "CNY",
        "is_subscribe": "N",
        "mch_id": mch_id,
        "nonce_str": "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(32)),
        "openid": openid,
        "out_trade_no": out_trade_no,
        "result_code": "SUCCESS",
        "return_code": "SUCCESS",
        "time_end": datetime.now(CN).strftime("%Y%m%d%H%M%S"),
        "total_fee": total_fen,
        "trade_type": "JSAPI",
        "transaction_id": transaction_id,
    }
    fields["sign"] = v2_sign(fields, api_key)
    return to_xml(fields).encode("utf-8")


def is_success_reply(body: bytes) -> bool:
    return b"<return_code><![CDATA[SUCCESS]]></return_code>" in body
