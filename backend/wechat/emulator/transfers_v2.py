"""Legacy 企业付款到零钱 (v2 XML): instant transfers keyed by partner_trade_no."""

from __future__ import annotations

from flask import Blueprint

from backend.wechat.emulator.context import ctx
from backend.wechat.emulator.faults import guarded
from backend.wechat.emulator.state import now_cn, rfc3339
from backend.wechat.emulator.v2_common import (
    V2Reject,
    answer,
    as_int,
    business_fail,
    read_request,
    return_fail,
    system_error,
)

bp = Blueprint("emulator_transfers_v2", __name__)

MIN_AMOUNT = 30  # fen; WeChat refuses smaller 企业付款
# The transfer endpoint names its ids mch_appid/mchid and does not sign its answer.
TRANSFER_IDS = {"appid_key": "mch_appid", "mch_key": "mchid"}


@bp.errorhandler(V2Reject)
def _rejected(exc: V2Reject):
    return exc.response


@bp.post("/mmpaymkttransfers/promotion/transfers")
def transfer():
    data = read_request(**TRANSFER_IDS)
    return guarded(ctx().faults, "legacy_transfer", lambda: _transfer(data),
                   system_error(signed=False, **TRANSFER_IDS), refusal=lambda: return_fail("系统错误"))


def _transfer(data: dict):
    ledger = ctx().ledger
    partner_trade_no, amount = data.get("partner_trade_no"), as_int(data.get("amount"), "amount")
    if not partner_trade_no or not data.get("openid") or not data.get("desc"):
        return business_fail("PARAM_ERROR", "参数错误", signed=False, **TRANSFER_IDS)
    if data.get("check_name") not in ("NO_CHECK", "FORCE_CHECK", "OPTION_CHECK"):
        return business_fail("PARAM_ERROR", "check_name参数错误", signed=False, **TRANSFER_IDS)
    if amount < MIN_AMOUNT:
        return business_fail("AMOUNT_LIMIT", "付款金额不能小于最低限额", signed=False, **TRANSFER_IDS)
    with ledger.lock:
        record = ledger.legacy_transfers.get(partner_trade_no)
        if record is not None:
            if record["openid"] != data["openid"] or record["amount"] != amount:
                return business_fail("INVALID_REQUEST", "商户订单号重复且参数不一致", signed=False, **TRANSFER_IDS)
        else:
            moment = now_cn()
            record = {"partner_trade_no": partner_trade_no, "payment_no": ledger.next_id("10100", 32),
                      "openid": data["openid"], "amount": amount, "desc": data["desc"], "status": "SUCCESS",
                      "payment_time": moment.strftime("%Y-%m-%d %H:%M:%S"), "created_at": rfc3339(moment)}
            ledger.legacy_transfers[partner_trade_no] = record
        fields = {"partner_trade_no": partner_trade_no, "payment_no": record["payment_no"],
                  "payment_time": record["payment_time"]}
    return answer(fields, signed=False, **TRANSFER_IDS)


@bp.post("/mmpaymkttransfers/gettransferinfo")
def gettransferinfo():
    data = read_request()
    return guarded(ctx().faults, "legacy_transfer_query", lambda: _query(data), system_error())


def _query(data: dict):
    with ctx().ledger.lock:
        record = ctx().ledger.legacy_transfers.get(data.get("partner_trade_no") or "")
        if record is None:
            return business_fail("NOT_FOUND", "指定单号数据不存在")
        fields = {"partner_trade_no": record["partner_trade_no"], "detail_id": record["payment_no"],
                  "status": record["status"], "openid": record["openid"], "payment_amount": record["amount"],
                  "transfer_time": record["payment_time"], "payment_time": record["payment_time"],
                  "desc": record["desc"], "reason": record.get("reason")}
    return answer(fields)
