"""WeChat Pay callbacks. Verify → lock → already processed? → change → answer.

The answers are WeChat's formats (XML for v2, JSON for v3), not ours: WeChat
retries until it reads SUCCESS, and a FAIL changes nothing on our side. The request
boundary commits what a view did (below 400); a refusal answers 200 with a FAIL body,
so it rolls back explicitly, which also drops the side effects registered so far.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request
from sqlalchemy import select

from backend.commission import payouts
from backend.commission.models import Payout
from backend.errors import ApiError
from backend.extensions import db, wechat
from backend.metrics import events as metrics
from backend.orders import payment, refunds
from backend.transactions import after_commit
from backend.wechat.gateway import InvalidSignature, TransferResult

log = logging.getLogger(__name__)
blp = Blueprint("payments", __name__, url_prefix="/api/v1/payments/wechat")


def _xml(code: str, message: str) -> Response:
    body = f"<xml><return_code><![CDATA[{code}]]></return_code><return_msg><![CDATA[{message}]]></return_msg></xml>"
    return Response(body, status=200, mimetype="application/xml")


@blp.post("/notify")
def payment_notify():
    try:
        data = wechat().parse_payment_notify(request.get_data())
    except InvalidSignature:
        log.warning("payment notify with a bad signature refused")
        metrics.payment_notify("forged")
        return _xml("FAIL", "invalid signature")
    if data.get("return_code") != "SUCCESS" or data.get("result_code") != "SUCCESS":
        metrics.payment_notify("not_paid")
        return _xml("SUCCESS", "OK")  # a failed payment: nothing to record
    try:
        result = payment.mark_paid(data["out_trade_no"], data["transaction_id"], int(data["total_fee"]),
                          fee_type=data.get("fee_type"), trade_type=data.get("trade_type"),
                                   payer_openid=data.get("openid"))
    except payment.AmountMismatch as exc:
        db.session.rollback()  # a 200 answer: the boundary would commit
        log.error("payment notify does not match its order: %s", exc)
        metrics.payment_notify("amount_mismatch")
        return _xml("FAIL", "amount, currency or trade type mismatch")
    except ApiError as exc:
        db.session.rollback()  # a 200 answer: the boundary would commit
        metrics.payment_notify("unknown_order")
        return _xml("FAIL", exc.message)
    if result.newly_paid:
        after_commit(metrics.payment_notify, "paid")  # counted once the payment is committed
    else:
        metrics.payment_notify("duplicate")
    # The credit job's enqueue was registered by record_commissions (after the commit).
    return _xml("SUCCESS", "OK")


@blp.post("/refund-notify")
def refund_notify():
    try:
        data = wechat().parse_refund_notify(request.get_data())
    except InvalidSignature:
        return _xml("FAIL", "invalid signature")
    # A refund that failed or was closed at WeChat is undone; its boards follow the commit (refunds.fail_refund).
    refunds.settle_refund(data["out_refund_no"], data.get("refund_status"), data.get("refund_id"))
    return _xml("SUCCESS", "OK")


@blp.post("/transfer-notify")
def transfer_notify():
    try:
        data = wechat().parse_transfer_notify(dict(request.headers), request.get_data())
    except InvalidSignature:
        return Response('{"code":"FAIL","message":"invalid signature"}', status=401, mimetype="application/json")
    resource = data.get("resource", data)
    out_bill_no = resource.get("out_bill_no")
    payout_id = db.session.scalar(select(Payout.id).where(Payout.out_bill_no == out_bill_no))
    if payout_id is not None:
        payouts.record_result(payout_id, TransferResult(
            out_bill_no=out_bill_no, state=_state(resource.get("state")),
            transfer_bill_no=resource.get("transfer_bill_no"), package_info=None,
            fail_reason=resource.get("fail_reason"), amount_fen=resource.get("transfer_amount")))
    return Response(status=204)


def _state(raw: str | None) -> str:
    if raw in ("SUCCESS", "FAIL", "CANCELLED", "WAIT_USER_CONFIRM"):
        return raw
    return "PROCESSING"
