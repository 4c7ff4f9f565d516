"""wechatpy's Pay v2 XML readers with xml_safety in front of each of its parsers.

wechatpy parses with xmltodict in three places we use: WeChat Pay's answers
(``_handle_result``), the payment notify (``parse_payment_result``, checked by the
gateway before the call) and the refund notify, whose decrypted ``req_info`` is a second
XML document parsed inside wechatpy. Hence the subclasses below: each hands wechatpy
only what xml_safety has passed.
"""

from __future__ import annotations

from xml.parsers.expat import ExpatError

from wechatpy.crypto import RefundCrypto, WeChatRefundCrypto
from wechatpy.exceptions import WeChatException
from wechatpy.pay import WeChatPay

from backend.wechat import xml_safety
from backend.wechat.errors import InvalidSignature


class CheckedWeChatPay(WeChatPay):
    """wechatpy's Pay v2 client, reading WeChat's answers through xml_safety first."""

    def _handle_result(self, res):
        # UnsafeXml is a ValueError: the gateway's _call_pay makes it WeChatUnavailable (outcome unknown).
        xml_safety.check(res.content)
        return super()._handle_result(res)


class _CheckedRefundCrypto(RefundCrypto):
    """req_info's decrypted XML is checked too: wechatpy parses it right after this."""

    def decrypt(self, text):
        plain = super().decrypt(text)
        xml_safety.check(plain)
        return plain


class _CheckedRefundNotify(WeChatRefundCrypto):
    def decrypt_message(self, msg, appid, mch_id):
        return self._decrypt_message(msg, appid, mch_id, _CheckedRefundCrypto)


def parse_refund_notify(pay: WeChatPay, xml: bytes) -> dict:
    """wechatpy's ``parse_refund_notify_result``, with the outer XML and the decrypted
    req_info both through xml_safety before xmltodict reads them. Raises InvalidSignature
    for anything it cannot take (unsafe or unreadable XML, a key that does not decrypt)."""
    try:
        outer = xml_safety.parse(xml)["xml"]
        if not isinstance(outer, dict):  # wechatpy would parse a text root again, unchecked
            raise InvalidSignature("refund notify without fields")
        data = _CheckedRefundNotify(pay.api_key).decrypt_message(outer, pay.appid, pay.mch_id)
    except (WeChatException, ValueError, KeyError, TypeError, ExpatError) as exc:  # UnsafeXml is a ValueError
        raise InvalidSignature("refund notify could not be decrypted") from exc
    if not isinstance(data, dict) or not data.get("out_refund_no"):
        raise InvalidSignature("refund notify without out_refund_no")
    data = dict(data)
    for key in ("total_fee", "settlement_total_fee", "refund_fee", "settlement_refund_fee"):
        if data.get(key) not in (None, ""):  # as wechatpy's parse_refund_notify_result does
            try:
                data[key] = int(data[key])
            except (TypeError, ValueError) as exc:
                raise InvalidSignature(f"refund notify with a bad {key}") from exc
    return data
