"""The only place the app talks to WeChat.

Wraps the real SDKs (wechatpy for 公众平台 and Pay v2, wechatpayv3 for 商家转账) pointed
at the configured base URLs: the real servers in production, the emulator in sandbox.
Every failure is translated into one of three exceptions (see errors.py); in particular
anything that leaves the outcome unknown becomes WeChatUnavailable, never WeChatError.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from xml.parsers.expat import ExpatError

import requests
from wechatpayv3 import WeChatPay as WeChatPayV3
from wechatpayv3 import WeChatPayType
from wechatpy import WeChatClient
from wechatpy.exceptions import (
    InvalidSignatureException,
    WeChatClientException,
    WeChatPayException,
)
from wechatpy.pay import WeChatPay

from backend.config import WeChatConfig
from backend.timeutil import SHOP_TZ
from backend.wechat import sandbox_keys, v2_xml, xml_safety
from backend.wechat.errors import InvalidSignature, WeChatError, WeChatUnavailable

__all__ = ["InvalidSignature", "TransferResult", "WeChatError", "WeChatGateway", "WeChatUnavailable"]

# v3 and legacy states folded into the five the app reasons about.
TRANSFER_STATES = {
    "WAIT_USER_CONFIRM": "WAIT_USER_CONFIRM", "ACCEPTED": "PROCESSING", "PROCESSING": "PROCESSING",
    "TRANSFERING": "PROCESSING", "CANCELING": "PROCESSING", "SUCCESS": "SUCCESS", "FAIL": "FAIL",
    "CANCELLED": "CANCELLED",
}
LEGACY_STATES = {"SUCCESS": "SUCCESS", "FAILED": "FAIL", "PROCESSING": "PROCESSING"}
# v2 err_codes that mean "try again with the same parameters": the outcome is unknown.
RETRYABLE_V2 = {"SYSTEMERROR", "BIZERR_NEED_RETRY"}
# 公众平台 errcode -1 is "system busy".
RETRYABLE_MP = {-1}
# 商家转账 requires per-scene report info (转账场景报备信息).
SCENE_REPORTS = {
    "1000": (("活动名称", "推广奖励"), ("奖励说明", "{remark}")),
    "1005": (("岗位类型", "推广员"), ("报酬说明", "{remark}")),
}
NOTIFY_HEADERS = ("Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Serial",
                  "Wechatpay-Signature-Type")


@dataclass
class TransferResult:
    out_bill_no: str
    state: str  # WAIT_USER_CONFIRM | PROCESSING | SUCCESS | FAIL | CANCELLED
    transfer_bill_no: str | None
    package_info: str | None
    fail_reason: str | None
    amount_fen: int | None


# Called with the SDK function's name before every call to WeChat (the app installs
# ``transactions.guard_remote_call``: no database transaction may be open then). A list
# of plain callables so this package imports nothing of the app's.
BEFORE_REMOTE_CALL: list = []


def _before_remote_call(fn) -> None:
    for hook in BEFORE_REMOTE_CALL:
        hook(getattr(fn, "__qualname__", None) or repr(fn))


class _TimeoutSession(requests.Session):
    """wechatpy fetches tokens without a timeout; give every request one."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._default_timeout = timeout

    def request(self, method, url, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._default_timeout
        return super().request(method, url, **kwargs)


class _MiniProgramClient(WeChatClient):
    def __init__(self, cfg: WeChatConfig, session=None) -> None:
        super().__init__(cfg.appid, cfg.secret, session=session, timeout=cfg.http_timeout)
        self._token_url = cfg.api_base + "/cgi-bin/token"
        self._http = _TimeoutSession(cfg.http_timeout)
        # Instance attributes win over the hard-coded class ones (BaseWeChatAPI._post reads them).
        self.API_BASE_URL = cfg.api_base + "/cgi-bin/"
        self.wxa.API_BASE_URL = cfg.api_base + "/"

    def fetch_access_token(self):
        return self._fetch_access_token(
            url=self._token_url,
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


def _read(path: str | None, what: str) -> str:
    if not path:
        raise WeChatError("NOT_CONFIGURED", f"{what} path is not configured")
    return Path(path).read_text()


class WeChatGateway:
    def __init__(self, cfg: WeChatConfig, token_storage=None) -> None:
        """token_storage: an optional wechatpy session storage (e.g. RedisStorage) so that
        several processes share one access token; the default is per-process memory."""
        self.cfg = cfg
        self._token_storage = token_storage
        self._lock = threading.Lock()
        self._mp_client: _MiniProgramClient | None = None
        self._pay_client: WeChatPay | None = None
        self._v3_client: WeChatPayV3 | None = None

    # ---- SDK clients, built on first use (building v3 loads keys) -----------------
    def _mp(self) -> _MiniProgramClient:
        with self._lock:
            if self._mp_client is None:
                self._mp_client = _MiniProgramClient(self.cfg, session=self._token_storage)
            return self._mp_client

    def _pay(self) -> WeChatPay:
        with self._lock:
            if self._pay_client is None:
                cfg = self.cfg
                # Real refunds/企业付款 need the v2 client certificate; the sandbox does not.
                cert = None if cfg.sandbox else os.environ.get("WECHAT_MCH_CERT_PATH")
                key = cfg.merchant_private_key_path if cert else None
                client = v2_xml.CheckedWeChatPay(appid=cfg.appid, api_key=cfg.pay_api_key, mch_id=cfg.mch_id,
                                                 mch_cert=cert, mch_key=key, timeout=cfg.http_timeout,
                                                 sandbox=False)
                client.API_BASE_URL = cfg.pay_api_base + "/"
                client._http = _TimeoutSession(cfg.http_timeout)
                self._pay_client = client
            return self._pay_client

    def _v3(self) -> WeChatPayV3:
        with self._lock:
            if self._v3_client is None:
                cfg = self.cfg
                if cfg.sandbox:
                    private_pem = sandbox_keys.merchant_keys(cfg.key_dir).private_pem
                    public_pem = sandbox_keys.platform_keys(cfg.key_dir).public_pem
                else:
                    private_pem = _read(cfg.merchant_private_key_path, "merchant private key")
                    public_pem = _read(cfg.platform_public_key_path, "platform public key")
                client = WeChatPayV3(
                    wechatpay_type=WeChatPayType.MINIPROG, mchid=cfg.mch_id, private_key=private_pem,
                    cert_serial_no=cfg.merchant_cert_serial, appid=cfg.appid, apiv3_key=cfg.apiv3_key,
                    timeout=cfg.http_timeout, public_key=public_pem, public_key_id=cfg.platform_public_key_id,
                )
                client._core._gate_way = cfg.pay_api_base
                self._v3_client = client
            return self._v3_client

    # ---- error translation -------------------------------------------------------
    @staticmethod
    def _call_mp(fn, *args, **kwargs):
        _before_remote_call(fn)
        try:
            return fn(*args, **kwargs)
        except requests.RequestException as exc:
            raise WeChatUnavailable(f"WeChat API unreachable: {exc}") from exc
        except WeChatClientException as exc:
            if exc.errcode is None or exc.errcode in RETRYABLE_MP:  # HTTP error or "system busy"
                raise WeChatUnavailable(f"WeChat API failed: {exc}") from exc
            raise WeChatError(str(exc.errcode), str(exc.errmsg or "")) from exc
        except (ValueError, KeyError) as exc:  # unparsable token answer
            raise WeChatUnavailable(f"unreadable WeChat answer: {exc}") from exc

    @staticmethod
    def _call_pay(fn, *args, **kwargs) -> dict:
        _before_remote_call(fn)
        try:
            data = fn(*args, **kwargs)
        except requests.RequestException as exc:
            raise WeChatUnavailable(f"WeChat Pay unreachable: {exc}") from exc
        except WeChatPayException as exc:
            if exc.return_code is None:  # HTTP-level failure: nothing readable came back
                raise WeChatUnavailable(f"WeChat Pay HTTP error: {exc}") from exc
            if exc.return_code != "SUCCESS":
                raise WeChatError(exc.errcode or "RETURN_FAIL", exc.return_msg or "") from exc
            if exc.errcode in RETRYABLE_V2:
                raise WeChatUnavailable(f"WeChat Pay {exc.errcode}: {exc.errmsg}") from exc
            raise WeChatError(exc.errcode or "FAIL", exc.errmsg or "") from exc
        except (KeyError, TypeError, ValueError, ExpatError) as exc:
            raise WeChatUnavailable(f"unreadable WeChat Pay answer: {exc}") from exc
        if not isinstance(data, dict):  # wechatpy hands back the raw text when it is not XML
            raise WeChatUnavailable("unreadable WeChat Pay answer")
        return dict(data)

    @staticmethod
    def _call_v3(fn, *args, **kwargs) -> tuple[int, dict]:
        _before_remote_call(fn)
        try:
            status, text = fn(*args, **kwargs)
        except requests.RequestException as exc:
            raise WeChatUnavailable(f"WeChat Pay v3 unreachable: {exc}") from exc
        except Exception as exc:  # wechatpayv3 raises bare Exception for a bad answer signature
            raise WeChatUnavailable(f"WeChat Pay v3 answer rejected: {exc}") from exc
        try:
            payload = json.loads(text) if text else {}
        except (TypeError, ValueError):
            payload = None
        if status >= 500 or status == 429 or not isinstance(payload, dict):
            raise WeChatUnavailable(f"WeChat Pay v3 HTTP {status}: {str(text)[:200]}")
        if payload.get("code") == "SYSTEM_ERROR":
            raise WeChatUnavailable(f"WeChat Pay v3 SYSTEM_ERROR: {payload.get('message')}")
        return status, payload

    @staticmethod
    def _v3_fail(status: int, payload: dict) -> WeChatError:
        return WeChatError(str(payload.get("code") or f"HTTP_{status}"), str(payload.get("message") or ""))

    # ---- mini-program ------------------------------------------------------------
    def code_to_session(self, code: str) -> dict:
        if not code:
            raise WeChatError("40029", "invalid code")
        data = self._call_mp(self._mp().wxa.code_to_session, code)
        if not isinstance(data, dict) or not data.get("openid"):
            raise WeChatUnavailable("jscode2session answered without an openid")
        return {key: data[key] for key in ("openid", "session_key", "unionid") if data.get(key)}

    def wxacode_unlimited(self, scene: str, page: str | None = None) -> bytes:
        res = self._call_mp(self._mp().wxa.get_wxa_code_unlimited, scene, page=page)
        # wechatpy returns the raw response when the body is not JSON, i.e. the image.
        if isinstance(res, requests.Response) and res.headers.get("Content-Type", "").startswith("image/"):
            return res.content
        raise WeChatUnavailable("getwxacodeunlimit answered without an image")

    def send_subscribe_message(self, openid: str, template_id: str, data: dict, page: str | None = None) -> None:
        self._call_mp(self._mp().wxa.send_subscribe_message, openid, template_id, data, page=page)

    # ---- pay v2 (JSAPI) ----------------------------------------------------------
    def unified_order(self, *, out_trade_no: str, total_fen: int, openid: str, body: str, notify_url: str,
                      client_ip: str, time_expire: datetime) -> str:
        """``time_expire``: WeChat takes no payment after it (our own deadline, so the
        user cannot pay an order we are about to cancel). WeChat reads it in Beijing time."""
        data = self._call_pay(self._pay().order.create, trade_type="JSAPI", body=body, total_fee=total_fen,
                              notify_url=notify_url, client_ip=client_ip or "127.0.0.1", user_id=openid,
                              out_trade_no=out_trade_no, time_expire=time_expire.astimezone(SHOP_TZ))
        if not data.get("prepay_id"):
            raise WeChatUnavailable("unifiedorder answered without a prepay_id")
        return data["prepay_id"]

    def jsapi_params(self, prepay_id: str) -> dict:
        return dict(self._pay().jsapi.get_jsapi_params(prepay_id))

    def query_order(self, out_trade_no: str) -> dict:
        data = self._call_pay(self._pay().order.query, out_trade_no=out_trade_no)
        return {"trade_state": data.get("trade_state"), "transaction_id": data.get("transaction_id"),
                "total_fee": int(data.get("total_fee") or 0), "time_end": data.get("time_end"),
                "openid": data.get("openid")}

    def close_order(self, out_trade_no: str) -> None:
        self._call_pay(self._pay().order.close, out_trade_no)

    def parse_payment_notify(self, xml: bytes) -> dict:
        try:
            xml_safety.check(xml)  # before wechatpy's parser (UnsafeXml is a ValueError)
            data = self._pay().parse_payment_result(xml)
        except (InvalidSignatureException, ValueError, KeyError, TypeError, ExpatError) as exc:
            raise InvalidSignature("payment notify signature check failed") from exc
        if data.get("appid") != self.cfg.appid or data.get("mch_id") != self.cfg.mch_id:
            raise InvalidSignature("payment notify for another appid/mch_id")
        return dict(data)

    def refund(self, *, out_trade_no: str, out_refund_no: str, total_fen: int, refund_fen: int, notify_url: str,
               reason: str) -> dict:
        data = self._call_pay(self._pay().refund.apply, total_fee=total_fen, refund_fee=refund_fen,
                              out_refund_no=out_refund_no, out_trade_no=out_trade_no, refund_desc=reason or None,
                              notify_url=notify_url)
        for key in ("refund_fee", "total_fee", "cash_fee", "settlement_refund_fee"):
            if data.get(key) not in (None, ""):
                data[key] = int(data[key])
        data.pop("sign", None)
        return data

    def query_refund(self, out_refund_no: str) -> dict | None:
        """{"refund_status", "refund_id"} of one refund (SUCCESS, PROCESSING, CHANGE or
        REFUNDCLOSE), or None when WeChat has no such refund."""
        try:
            data = self._call_pay(self._pay().refund.query, out_refund_no=out_refund_no)
        except WeChatError as exc:
            if exc.code == "REFUNDNOTEXIST":
                return None
            raise
        for i in range(int(data.get("refund_count") or 0)):
            if data.get(f"out_refund_no_{i}") == out_refund_no:
                return {"refund_status": data.get(f"refund_status_{i}"), "refund_id": data.get(f"refund_id_{i}")}
        return None

    def parse_refund_notify(self, xml: bytes) -> dict:
        # No signature here: authenticity comes from decrypting req_info with md5(api key).
        return v2_xml.parse_refund_notify(self._pay(), xml)

    # ---- 商家转账 (v3 transfer bills) --------------------------------------------
    def create_transfer_bill(self, *, out_bill_no: str, openid: str, amount_fen: int, remark: str,
                             notify_url: str) -> TransferResult:
        if not isinstance(amount_fen, int) or amount_fen < 1 or not remark:
            # The SDK raises a bare Exception for these before sending anything.
            raise WeChatError("PARAM_ERROR", "amount_fen must be a positive int and remark non-empty")
        reports = [{"info_type": kind, "info_content": text.format(remark=remark)}
                   for kind, text in SCENE_REPORTS.get(self.cfg.transfer_scene_id, ())]
        status, payload = self._call_v3(
            self._v3().mch_transfer_bills, out_bill_no=out_bill_no, transfer_scene_id=self.cfg.transfer_scene_id,
            openid=openid, transfer_amount=amount_fen, transfer_remark=remark,
            transfer_scene_report_infos=reports, notify_url=notify_url)
        if status >= 300:
            raise self._v3_fail(status, payload)
        return TransferResult(out_bill_no=payload.get("out_bill_no") or out_bill_no,
                              state=self._transfer_state(payload.get("state")),
                              transfer_bill_no=payload.get("transfer_bill_no"),
                              package_info=payload.get("package_info"), fail_reason=payload.get("fail_reason"),
                              amount_fen=amount_fen)

    def query_transfer_bill(self, out_bill_no: str) -> TransferResult | None:
        status, payload = self._call_v3(self._v3().mch_transfer_bills_query, out_bill_no=out_bill_no)
        if status == 404 and payload.get("code") == "NOT_FOUND":
            return None
        if status >= 300:
            raise self._v3_fail(status, payload)
        amount = payload.get("transfer_amount")
        return TransferResult(out_bill_no=payload.get("out_bill_no") or out_bill_no,
                              state=self._transfer_state(payload.get("state")),
                              transfer_bill_no=payload.get("transfer_bill_no"), package_info=None,
                              fail_reason=payload.get("fail_reason"),
                              amount_fen=int(amount) if amount is not None else None)

    def cancel_transfer_bill(self, out_bill_no: str) -> TransferResult:
        status, payload = self._call_v3(self._v3().mch_transfer_bills_cancel, out_bill_no)
        if status >= 300:
            raise self._v3_fail(status, payload)
        return TransferResult(out_bill_no=payload.get("out_bill_no") or out_bill_no,
                              state=self._transfer_state(payload.get("state")),
                              transfer_bill_no=payload.get("transfer_bill_no"), package_info=None,
                              fail_reason=None, amount_fen=None)

    def parse_transfer_notify(self, headers: dict, body: bytes) -> dict:
        """The decrypted bill (out_bill_no, state, transfer_amount, ...) plus event_type and notify_id."""
        wanted = {name.lower(): name for name in NOTIFY_HEADERS}
        canonical = {wanted[k.lower()]: v for k, v in dict(headers).items() if k.lower() in wanted}
        # Another serial would make the SDK download certificates from WeChat: refuse it here.
        if canonical.get("Wechatpay-Serial") != self.cfg.platform_public_key_id:
            raise InvalidSignature("transfer notify signed with an unknown key")
        try:
            data = self._v3().callback(canonical, body)
        except Exception as exc:  # the SDK raises bare Exception / JSON errors on junk
            raise InvalidSignature(f"transfer notify rejected: {exc}") from exc
        if not data or not isinstance(data.get("resource"), dict):  # None: bad signature or undecryptable
            raise InvalidSignature("transfer notify signature or decryption failed")
        return {**data["resource"], "event_type": data.get("event_type"), "notify_id": data.get("id")}

    @staticmethod
    def _transfer_state(state: str | None) -> str:
        if state not in TRANSFER_STATES:
            raise WeChatUnavailable(f"unknown transfer state {state!r}")
        return TRANSFER_STATES[state]

    # ---- legacy 企业付款到零钱 (v2) --------------------------------------------
    def legacy_transfer(self, *, partner_trade_no: str, openid: str, amount_fen: int, desc: str) -> TransferResult:
        data = self._call_pay(self._pay().transfer.transfer, user_id=openid, amount=amount_fen, desc=desc,
                              client_ip="127.0.0.1", check_name="NO_CHECK", out_trade_no=partner_trade_no)
        return TransferResult(out_bill_no=data.get("partner_trade_no") or partner_trade_no, state="SUCCESS",
                              transfer_bill_no=data.get("payment_no"), package_info=None, fail_reason=None,
                              amount_fen=amount_fen)

    def query_legacy_transfer(self, partner_trade_no: str) -> TransferResult | None:
        try:
            data = self._call_pay(self._pay().transfer.query, partner_trade_no)
        except WeChatError as exc:
            if exc.code == "NOT_FOUND":
                return None
            raise
        state = LEGACY_STATES.get(data.get("status") or "")
        if state is None:
            raise WeChatUnavailable(f"unknown legacy transfer status {data.get('status')!r}")
        amount = data.get("payment_amount")
        return TransferResult(out_bill_no=data.get("partner_trade_no") or partner_trade_no, state=state,
                              transfer_bill_no=data.get("detail_id"), package_info=None,
                              fail_reason=data.get("reason") or None,
                              amount_fen=int(amount) if amount not in (None, "") else None)
