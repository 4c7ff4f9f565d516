"""Pay v3 plumbing: check the merchant's Authorization header, sign every answer."""

from __future__ import annotations

import json
import time

from flask import Response, request

from backend.wechat.emulator.context import EmulatorContext, ctx
from backend.wechat.emulator.signing import (
    nonce,
    parse_authorization,
    sign_lines,
    verify_lines,
)

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
CLOCK_SKEW = 300  # seconds; WeChat rejects requests stamped further away than this


class V3Reject(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__("rejected")
        self.response = response


def platform_headers(context: EmulatorContext, body: str) -> dict:
    """The Wechatpay-* headers that let the merchant check an answer or a notify."""
    timestamp, once = str(int(time.time())), nonce(32)
    return {
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": once,
        "Wechatpay-Signature": sign_lines(context.platform_private_key, timestamp, once, body),
        "Wechatpay-Serial": context.cfg.platform_public_key_id,
        "Wechatpay-Signature-Type": SIGNATURE_TYPE,
    }


def json_response(payload: dict | None, status: int = 200) -> Response:
    body = "" if payload is None else json.dumps(payload, ensure_ascii=False)
    # charset matters: the SDK verifies the decoded text, so it must decode as we signed.
    response = Response(body, status=status, content_type="application/json; charset=utf-8")
    response.headers.update(platform_headers(ctx(), body))
    response.headers["Request-ID"] = nonce(24)
    return response


def error(status: int, code: str, message: str) -> Response:
    return json_response({"code": code, "message": message}, status)


def system_error() -> Response:
    return error(500, "SYSTEM_ERROR", "系统异常，请使用相同参数稍后重新调用")


def verify_request() -> None:
    """Raise V3Reject unless the request carries the merchant's valid signature."""
    context = ctx()
    auth = parse_authorization(request.headers.get("Authorization"))
    if auth is None:
        raise V3Reject(error(401, "SIGN_ERROR", "Authorization 格式错误"))
    if auth["mchid"] != context.cfg.mch_id:
        raise V3Reject(error(401, "SIGN_ERROR", "商户号与签名不匹配"))
    if auth["serial_no"] != context.cfg.merchant_cert_serial:
        raise V3Reject(error(401, "SIGN_ERROR", "商户证书序列号有误"))
    try:
        skew = abs(time.time() - int(auth["timestamp"]))
    except ValueError:
        skew = CLOCK_SKEW + 1
    if skew > CLOCK_SKEW:
        raise V3Reject(error(401, "SIGN_ERROR", "请求时间戳过期"))
    # The signed URL is the path plus query exactly as sent (not URL-decoded).
    target = request.environ.get("RAW_URI") or request.full_path.rstrip("?")
    body = request.get_data(as_text=True)
    if not verify_lines(context.merchant_public_key, auth["signature"], request.method, target,
                        auth["timestamp"], auth["nonce_str"], body):
        raise V3Reject(error(401, "SIGN_ERROR", "签名错误"))


def json_body() -> dict:
    try:
        data = json.loads(request.get_data(as_text=True) or "{}")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise V3Reject(error(400, "PARAM_ERROR", "请求体不是合法的JSON对象"))
    return data
