"""商家转账 (v3 transfer bills): create, query, cancel, and the encrypted result notify."""

from __future__ import annotations

import json
import uuid

from flask import Blueprint

from backend.wechat.emulator.context import ctx
from backend.wechat.emulator.faults import guarded
from backend.wechat.emulator.notifier import v3_acknowledged
from backend.wechat.emulator.signing import aes_gcm_encrypt, nonce
from backend.wechat.emulator.state import now_cn, rfc3339
from backend.wechat.emulator.v3_common import (
    V3Reject,
    error,
    json_body,
    json_response,
    platform_headers,
    system_error,
    verify_request,
)

bp = Blueprint("emulator_pay_v3", __name__)

BILLS = "/v3/fund-app/mch-transfer/transfer-bills"
MIN_AMOUNT = 10  # fen
CANCELLABLE = ("WAIT_USER_CONFIRM", "ACCEPTED")
FINAL = ("SUCCESS", "FAIL", "CANCELLED")


@bp.errorhandler(V3Reject)
def _rejected(exc: V3Reject):
    return exc.response


@bp.post(BILLS)
def create_bill():
    verify_request()
    data = json_body()
    return guarded(ctx().faults, "transfer_bills.create", lambda: _create(data), system_error,
                   refusal=lambda: error(400, "INVALID_REQUEST", "请求参数不符合业务规则"))


def _create(data: dict):
    cfg, ledger = ctx().cfg, ctx().ledger
    out_bill_no, openid, amount = data.get("out_bill_no"), data.get("openid"), data.get("transfer_amount")
    if data.get("appid") != cfg.appid:
        return error(400, "PARAM_ERROR", "appid与商户号不匹配")
    if not out_bill_no or not openid or not data.get("transfer_scene_id") or not data.get("transfer_remark"):
        return error(400, "PARAM_ERROR", "缺少必填参数")
    if not isinstance(amount, int) or amount < MIN_AMOUNT:
        return error(400, "PARAM_ERROR", "转账金额不能低于最低限额")
    with ledger.lock:
        bill = ledger.transfers.get(out_bill_no)
        if bill is not None:
            if bill["openid"] != openid or bill["transfer_amount"] != amount:
                return error(400, "INVALID_REQUEST", "商户单号重复但请求参数不一致")
        else:
            moment = rfc3339(now_cn())
            bill = {"out_bill_no": out_bill_no, "transfer_bill_no": ledger.next_id("1330000", 40),
                    "state": "WAIT_USER_CONFIRM", "transfer_amount": amount, "openid": openid,
                    "transfer_scene_id": data["transfer_scene_id"], "transfer_remark": data["transfer_remark"],
                    "notify_url": data.get("notify_url"), "package_info": "ABBQO+oYAAABAAAAAAAk" + nonce(40),
                    "create_time": moment, "update_time": moment}
            ledger.transfers[out_bill_no] = bill
        payload = {key: bill[key] for key in ("out_bill_no", "transfer_bill_no", "create_time", "state")}
        if bill["state"] == "WAIT_USER_CONFIRM":
            payload["package_info"] = bill["package_info"]
    return json_response(payload)


def _bill_view(bill: dict) -> dict:
    view = {"mch_id": ctx().cfg.mch_id, "out_bill_no": bill["out_bill_no"],
            "transfer_bill_no": bill["transfer_bill_no"], "appid": ctx().cfg.appid, "state": bill["state"],
            "transfer_amount": bill["transfer_amount"], "transfer_remark": bill["transfer_remark"],
            "openid": bill["openid"], "create_time": bill["create_time"], "update_time": bill["update_time"]}
    if bill.get("fail_reason"):
        view["fail_reason"] = bill["fail_reason"]
    return view


@bp.get(BILLS + "/out-bill-no/<out_bill_no>")
def query_bill(out_bill_no: str):
    verify_request()
    return guarded(ctx().faults, "transfer_bills.query", lambda: _query(out_bill_no), system_error)


def _query(out_bill_no: str):
    with ctx().ledger.lock:
        bill = ctx().ledger.transfers.get(out_bill_no)
        if bill is None:
            return error(404, "NOT_FOUND", "记录不存在")
        return json_response(_bill_view(bill))


@bp.post(BILLS + "/out-bill-no/<out_bill_no>/cancel")
def cancel_bill(out_bill_no: str):
    verify_request()
    return guarded(ctx().faults, "transfer_bills.cancel", lambda: _cancel(out_bill_no), system_error)


def _cancel(out_bill_no: str):
    with ctx().ledger.lock:
        bill = ctx().ledger.transfers.get(out_bill_no)
        if bill is None:
            return error(404, "NOT_FOUND", "记录不存在")
        if bill["state"] not in CANCELLABLE:
            return error(400, "INVALID_REQUEST", f"当前状态{bill['state']}不允许撤销")
        finish(bill, "CANCELLED")
        payload = {"out_bill_no": out_bill_no, "transfer_bill_no": bill["transfer_bill_no"],
                   "state": "CANCELING", "update_time": bill["update_time"]}
    send_transfer_notify(bill, sync=False)
    return json_response(payload)


def finish(bill: dict, state: str, fail_reason: str | None = None) -> None:
    """Move a bill to a final state (caller holds the ledger lock)."""
    bill["state"] = state
    bill["update_time"] = rfc3339(now_cn())
    if fail_reason:
        bill["fail_reason"] = fail_reason


def send_transfer_notify(bill: dict, sync: bool) -> dict:
    context = ctx()
    with context.ledger.lock:
        plain = _bill_view(bill)
    plain.pop("appid", None)
    plain.pop("transfer_remark", None)
    once = nonce(12)
    resource = {"original_type": "mch_payment", "algorithm": "AEAD_AES_256_GCM", "associated_data": "mch_payment",
                "nonce": once, "ciphertext": aes_gcm_encrypt(context.cfg.apiv3_key, once, "mch_payment",
                                                             json.dumps(plain, ensure_ascii=False))}
    envelope = {"id": str(uuid.uuid4()), "create_time": rfc3339(now_cn()), "resource_type": "encrypt-resource",
                "event_type": "MCHTRANSFER.BILL.FINISHED", "summary": "商家转账单据终态通知", "resource": resource}
    body = json.dumps(envelope, ensure_ascii=False)
    headers = {"Content-Type": "application/json; charset=utf-8", **platform_headers(context, body)}
    if not bill.get("notify_url"):
        return {"delivered": False, "reply": None, "no_notify_url": True}
    return context.notifier.send(kind="transfer", key=bill["out_bill_no"], url=bill["notify_url"],
                                 body=body.encode("utf-8"), headers=headers, acknowledged=v3_acknowledged,
                                 sync=sync)
