"""Request checking and answer building shared by the Pay v2 (XML) endpoints."""

from __future__ import annotations

from flask import Response, request

from backend.wechat.emulator.context import ctx
from backend.wechat.emulator.signing import nonce, parse_xml, to_xml, v2_check, v2_sign


class V2Reject(Exception):
    """Raised while reading a request; carries the finished error answer."""

    def __init__(self, response: Response) -> None:
        super().__init__("rejected")
        self.response = response


def xml_response(fields: dict) -> Response:
    return Response(to_xml(fields), mimetype="text/xml", content_type="text/xml; charset=utf-8")


def return_fail(message: str) -> Response:
    # return_code FAIL: the request itself was not accepted (format, signature, ids).
    return xml_response({"return_code": "FAIL", "return_msg": message})


def read_request(appid_key: str = "appid", mch_key: str = "mch_id") -> dict:
    cfg = ctx().cfg
    data = parse_xml(request.get_data())
    if data is None:
        raise V2Reject(return_fail("XML格式错误"))
    if not v2_check(data, cfg.pay_api_key):
        raise V2Reject(return_fail("签名错误"))
    if data.get(appid_key) != cfg.appid:
        raise V2Reject(return_fail("appid不存在"))
    if data.get(mch_key) != cfg.mch_id:
        raise V2Reject(return_fail("mch_id参数格式错误"))
    return data


def answer(fields: dict, *, appid_key: str = "appid", mch_key: str = "mch_id", signed: bool = True) -> Response:
    cfg = ctx().cfg
    out = {"return_code": "SUCCESS", "return_msg": "OK", appid_key: cfg.appid, mch_key: cfg.mch_id,
           "nonce_str": nonce()}
    out.update({k: v for k, v in fields.items() if v is not None})
    out.setdefault("result_code", "SUCCESS")
    if signed:
        out["sign"] = v2_sign(out, cfg.pay_api_key)
    return xml_response(out)


def business_fail(err_code: str, description: str, **kwargs) -> Response:
    return answer({"result_code": "FAIL", "err_code": err_code, "err_code_des": description}, **kwargs)


def system_error(**kwargs):
    """Factory for faults.guarded: a SYSTEMERROR answer with the right id field names."""
    return lambda: business_fail("SYSTEMERROR", "系统繁忙,请稍后再试", **kwargs)


def as_int(value, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise V2Reject(business_fail("PARAM_ERROR", f"{field}参数错误")) from None
