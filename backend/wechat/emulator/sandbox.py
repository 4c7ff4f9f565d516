"""Control endpoints: play the user (pay, confirm), inspect the ledger, queue faults."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from backend.wechat.emulator import pay_v2, pay_v3
from backend.wechat.emulator.context import ctx
from backend.wechat.emulator.faults import FaultSpecError

bp = Blueprint("emulator_sandbox", __name__, url_prefix="/sandbox")


def _options() -> dict:
    return request.get_json(force=True, silent=True) or {}


@bp.post("/pay/<out_trade_no>")
def pay(out_trade_no: str):
    ledger = ctx().ledger
    with ledger.lock:
        order = ledger.payments.get(out_trade_no)
        if order is None:
            return jsonify({"code": "ORDERNOTEXIST", "message": "unknown out_trade_no"}), 404
        if order["state"] == "CLOSED":
            return jsonify({"code": "ORDERCLOSED", "message": "the order is closed"}), 409
        if order["state"] == "NOTPAY" and pay_v2.expired(order):
            return jsonify({"code": "ORDER_EXPIRED", "message": "订单已过期 (past time_expire)"}), 409
        pay_v2.mark_paid(order)
        transaction_id = order["transaction_id"]
    outcome = pay_v2.send_payment_notify(order, sync=not _options().get("async", False))
    return jsonify({"out_trade_no": out_trade_no, "transaction_id": transaction_id, **outcome})


@bp.post("/transfer-bills/<out_bill_no>/confirm")
def confirm_transfer(out_bill_no: str):
    options, ledger = _options(), ctx().ledger
    with ledger.lock:
        bill = ledger.transfers.get(out_bill_no)
        if bill is None:
            return jsonify({"code": "NOT_FOUND", "message": "unknown out_bill_no"}), 404
        if bill["state"] != "WAIT_USER_CONFIRM":
            return jsonify({"code": "INVALID_STATE", "message": f"bill is {bill['state']}"}), 409
        if options.get("reject"):
            pay_v3.finish(bill, "FAIL", options.get("fail_reason") or "TRANSFER_REJECTED")
        else:
            pay_v3.finish(bill, "SUCCESS")
        state = bill["state"]
    outcome = pay_v3.send_transfer_notify(bill, sync=not options.get("async", False))
    return jsonify({"out_bill_no": out_bill_no, "state": state, **outcome})


@bp.get("/ledger")
def ledger_view():
    return jsonify(ctx().ledger.snapshot(request.args.to_dict()))


@bp.get("/faults")
def list_faults():
    return jsonify({"faults": ctx().faults.list()})


@bp.post("/faults")
def add_fault():
    try:
        fault = ctx().faults.add(_options())
    except FaultSpecError as exc:
        return jsonify({"code": "PARAM_ERROR", "message": str(exc)}), 400
    return jsonify({"fault": fault.__dict__}), 201


@bp.delete("/faults")
def clear_faults():
    ctx().faults.clear()
    return jsonify({"faults": []})


@bp.post("/reset")
def reset():
    ctx().faults.clear()
    ctx().ledger.reset()
    return jsonify({"reset": True})
