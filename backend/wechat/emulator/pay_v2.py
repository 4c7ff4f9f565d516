"""WeChat Pay v2 JSAPI payments and refunds (XML over POST), plus their notifies."""

from __future__ import annotations

from flask import Blueprint

from backend.wechat.emulator.context import ctx
from backend.wechat.emulator.faults import guarded
from backend.wechat.emulator.notifier import v2_acknowledged
from backend.wechat.emulator.signing import nonce, refund_encrypt, to_xml, v2_sign
from backend.wechat.emulator.state import compact, now_cn, rfc3339
from backend.wechat.emulator.v2_common import (
    V2Reject,
    answer,
    as_int,
    business_fail,
    read_request,
    system_error,
)

bp = Blueprint("emulator_pay_v2", __name__)
XML_HEADERS = {"Content-Type": "text/xml; charset=utf-8"}


@bp.errorhandler(V2Reject)
def _rejected(exc: V2Reject):
    return exc.response


def _paid_states() -> tuple[str, ...]:
    return ("SUCCESS", "REFUND")


@bp.post("/pay/unifiedorder")
def unifiedorder():
    data = read_request()
    return guarded(ctx().faults, "unifiedorder", lambda: _unifiedorder(data), system_error())


def _unifiedorder(data: dict):
    ledger = ctx().ledger
    out_trade_no, total_fee = data.get("out_trade_no"), as_int(data.get("total_fee"), "total_fee")
    if not out_trade_no or not data.get("notify_url") or not data.get("body"):
        return business_fail("PARAM_ERROR", "缺少参数 out_trade_no/body/notify_url")
    if data.get("trade_type") != "JSAPI" or not data.get("openid"):
        return business_fail("PARAM_ERROR", "JSAPI支付必须传openid")
    if total_fee < 1:
        return business_fail("PARAM_ERROR", "total_fee必须大于0")
    with ledger.lock:
        order = ledger.payments.get(out_trade_no)
        if order is not None:
            if order["state"] in _paid_states():
                return business_fail("ORDERPAID", "该订单已支付")
            if order["state"] == "CLOSED":
                return business_fail("ORDERCLOSED", "该订单已关闭")
            if order["total_fee"] != total_fee or order["openid"] != data["openid"]:
                return business_fail("INVALID_REQUEST", "201 商户订单号重复")
        else:
            order = {"out_trade_no": out_trade_no, "prepay_id": "wx" + ledger.next_id("", 34),
                     "openid": data["openid"], "total_fee": total_fee, "body": data["body"],
                     "notify_url": data["notify_url"], "state": "NOTPAY", "transaction_id": None,
                     "refunded_fee": 0, "created_at": rfc3339(now_cn()), "paid_at": None, "time_end": None,
                     # Set by the first call only, as in WeChat (yyyyMMddHHmmss, Beijing time).
                     "time_expire": data.get("time_expire") or None}
            ledger.payments[out_trade_no] = order
        order["notify_url"] = data["notify_url"]  # the latest call wins, as in WeChat
        return answer({"trade_type": "JSAPI", "prepay_id": order["prepay_id"]})


def _find_order(data: dict) -> dict | None:
    payments = ctx().ledger.payments
    if data.get("out_trade_no"):
        return payments.get(data["out_trade_no"])
    tid = data.get("transaction_id")
    return next((o for o in payments.values() if tid and o["transaction_id"] == tid), None)


@bp.post("/pay/orderquery")
def orderquery():
    data = read_request()
    return guarded(ctx().faults, "orderquery", lambda: _orderquery(data), system_error())


def _orderquery(data: dict):
    with ctx().ledger.lock:
        order = _find_order(data)
        if order is None:
            return business_fail("ORDERNOTEXIST", "此交易订单号不存在")
        fields = {"out_trade_no": order["out_trade_no"], "trade_state": order["state"],
                  "total_fee": order["total_fee"], "trade_type": "JSAPI", "openid": order["openid"]}
        if order["transaction_id"]:
            fields.update(transaction_id=order["transaction_id"], time_end=order["time_end"],
                          cash_fee=order["total_fee"], bank_type="OTHERS", fee_type="CNY")
        return answer(fields)


@bp.post("/pay/closeorder")
def closeorder():
    data = read_request()
    return guarded(ctx().faults, "closeorder", lambda: _closeorder(data), system_error())


def _closeorder(data: dict):
    with ctx().ledger.lock:
        order = ctx().ledger.payments.get(data.get("out_trade_no") or "")
        if order is None:
            return business_fail("ORDERNOTEXIST", "订单不存在")
        if order["state"] in _paid_states():
            return business_fail("ORDERPAID", "订单已支付，不能发起关单")
        order["state"] = "CLOSED"
        return answer({})


@bp.post("/secapi/pay/refund")
def refund():
    data = read_request()
    return guarded(ctx().faults, "refund", lambda: _refund(data), system_error())


def _refund(data: dict):
    ledger = ctx().ledger
    out_refund_no = data.get("out_refund_no")
    total_fee, refund_fee = as_int(data.get("total_fee"), "total_fee"), as_int(data.get("refund_fee"), "refund_fee")
    if not out_refund_no or refund_fee < 1:
        return business_fail("PARAM_ERROR", "out_refund_no/refund_fee参数错误")
    with ledger.lock:
        order = _find_order(data)
        if order is None:
            return business_fail("ORDERNOTEXIST", "订单不存在")
        existing = ledger.refunds.get(out_refund_no)
        if existing is not None:
            if existing["out_trade_no"] != order["out_trade_no"] or existing["refund_fee"] != refund_fee:
                return business_fail("INVALID_REQUEST", "同一退款单号参数不一致")
            return answer(_refund_fields(existing))  # a repeat: same answer, no second refund
        if order["state"] not in _paid_states():
            return business_fail("TRADE_STATE_ERROR", "订单状态错误")
        if total_fee != order["total_fee"]:
            return business_fail("INVALID_REQUEST", "订单金额或退款金额与之前请求不一致")
        if order["refunded_fee"] + refund_fee > order["total_fee"]:
            return business_fail("INVALID_REQUEST", "退款金额大于支付金额")
        moment = now_cn()
        record = {"out_refund_no": out_refund_no, "out_trade_no": order["out_trade_no"],
                  "transaction_id": order["transaction_id"], "refund_id": ledger.next_id("50", 29),
                  "total_fee": order["total_fee"], "refund_fee": refund_fee, "refund_status": "SUCCESS",
                  "openid": order["openid"], "notify_url": data.get("notify_url"), "reason": data.get("refund_desc"),
                  "created_at": rfc3339(moment), "success_time": moment.strftime("%Y-%m-%d %H:%M:%S")}
        ledger.refunds[out_refund_no] = record
        order["refunded_fee"] += refund_fee
        order["state"] = "REFUND"
        fields = _refund_fields(record)
    if record["notify_url"]:
        # In the background: the merchant is still waiting for this very answer.
        send_refund_notify(record, sync=False)
    return answer(fields)


def _refund_fields(record: dict) -> dict:
    return {key: record[key] for key in ("transaction_id", "out_trade_no", "out_refund_no", "refund_id",
                                         "refund_fee", "total_fee")} | {"cash_fee": record["total_fee"],
                                                                          "settlement_refund_fee": record["refund_fee"]}


@bp.post("/pay/refundquery")
def refundquery():
    data = read_request()
    return guarded(ctx().faults, "refundquery", lambda: _refundquery(data), system_error())


def _refundquery(data: dict):
    ledger = ctx().ledger
    with ledger.lock:
        refunds = [r for r in ledger.refunds.values()
                   if (data.get("out_refund_no") and r["out_refund_no"] == data["out_refund_no"])
                   or (data.get("refund_id") and r["refund_id"] == data["refund_id"])
                   or (data.get("out_trade_no") and r["out_trade_no"] == data["out_trade_no"])
                   or (data.get("transaction_id") and r["transaction_id"] == data["transaction_id"])]
        if not refunds:
            return business_fail("REFUNDNOTEXIST", "退款订单查询失败")
        fields = {"out_trade_no": refunds[0]["out_trade_no"], "transaction_id": refunds[0]["transaction_id"],
                  "total_fee": refunds[0]["total_fee"], "cash_fee": refunds[0]["total_fee"],
                  "refund_count": len(refunds), "refund_fee": sum(r["refund_fee"] for r in refunds)}
        for i, r in enumerate(refunds):
            fields.update({f"out_refund_no_{i}": r["out_refund_no"], f"refund_id_{i}": r["refund_id"],
                           f"refund_fee_{i}": r["refund_fee"], f"refund_status_{i}": r["refund_status"],
                           f"refund_success_time_{i}": r["success_time"],
                           f"refund_recv_accout_{i}": "支付用户的零钱"})
        return answer(fields)


# ---- notifies -----------------------------------------------------------------------

def payment_notify_xml(order: dict) -> str:
    cfg = ctx().cfg
    fields = {"appid": cfg.appid, "bank_type": "OTHERS", "cash_fee": order["total_fee"], "fee_type": "CNY",
              "is_subscribe": "N", "mch_id": cfg.mch_id, "nonce_str": nonce(), "openid": order["openid"],
              "out_trade_no": order["out_trade_no"], "result_code": "SUCCESS", "return_code": "SUCCESS",
              "time_end": order["time_end"], "total_fee": order["total_fee"], "trade_type": "JSAPI",
              "transaction_id": order["transaction_id"]}
    fields["sign"] = v2_sign(fields, cfg.pay_api_key)
    return to_xml(fields)


def mark_paid(order: dict) -> None:
    """The user pays (once): later calls keep the transaction id and the very same notify."""
    if order["transaction_id"] is None:
        moment = now_cn()
        order.update(state="SUCCESS", transaction_id=ctx().ledger.next_id("42", 28),
                     time_end=compact(moment), paid_at=rfc3339(moment))
        order["notify_xml"] = payment_notify_xml(order)


def send_payment_notify(order: dict, sync: bool) -> dict:
    return ctx().notifier.send(kind="payment", key=order["out_trade_no"], url=order["notify_url"],
                               body=order["notify_xml"].encode("utf-8"), headers=XML_HEADERS,
                               acknowledged=v2_acknowledged, sync=sync)


def send_refund_notify(record: dict, sync: bool) -> dict:
    cfg = ctx().cfg
    inner = {"out_refund_no": record["out_refund_no"], "out_trade_no": record["out_trade_no"],
             "refund_account": "REFUND_SOURCE_UNSETTLED_FUNDS", "refund_fee": record["refund_fee"],
             "refund_id": record["refund_id"], "refund_recv_accout": "支付用户的零钱",
             "refund_request_source": "API", "refund_status": record["refund_status"],
             "settlement_refund_fee": record["refund_fee"], "settlement_total_fee": record["total_fee"],
             "success_time": record["success_time"], "total_fee": record["total_fee"],
             "transaction_id": record["transaction_id"]}
    plaintext = "<root>" + to_xml(inner)[len("<xml>"):-len("</xml>")] + "</root>"
    outer = {"return_code": "SUCCESS", "appid": cfg.appid, "mch_id": cfg.mch_id, "nonce_str": nonce(),
             "req_info": refund_encrypt(cfg.pay_api_key, plaintext)}
    return ctx().notifier.send(kind="refund", key=record["out_refund_no"], url=record["notify_url"],
                               body=to_xml(outer).encode("utf-8"), headers=XML_HEADERS,
                               acknowledged=v2_acknowledged, sync=sync)


def expired(order: dict) -> bool:
    """Past the ``time_expire`` of its unified order: WeChat takes no payment for it."""
    return bool(order.get("time_expire")) and compact(now_cn()) > order["time_expire"]
