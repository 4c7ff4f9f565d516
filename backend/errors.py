"""The one error shape of the API and the list of its stable codes.

Every failure a client can see is ``{"error": {"code": ..., "message": ...}}`` with
the HTTP status below. Codes are part of the contract: add, never rename.
"""

from __future__ import annotations

from flask import Flask, jsonify
from marshmallow import Schema, fields
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from backend.db_errors import is_deadlock

# code -> default HTTP status. One place, so clients and docs can list them.
ERROR_CODES: dict[str, int] = {
    # generic
    "BAD_REQUEST": 400,
    "MALFORMED_JSON": 400,
    "JSON_TOO_DEEP": 400,
    "INVALID_TEXT": 422,
    "VALIDATION_ERROR": 422,
    "UNAUTHORIZED": 401,
    "TOKEN_EXPIRED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "CONFLICT": 409,
    "PAYLOAD_TOO_LARGE": 413,
    "URI_TOO_LONG": 414,  # answered by gunicorn itself (backend/gunicorn_errors.py), as are the next three
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "EXPECTATION_FAILED": 417,
    "HEADER_TOO_LARGE": 431,  # a header field over 8190 bytes (e.g. a 10 kB token), or too many headers
    "NOT_IMPLEMENTED": 501,  # a transfer coding gunicorn does not support
    "RATE_LIMITED": 429,
    "INTERNAL_ERROR": 500,
    "SERVICE_UNAVAILABLE": 503,
    "WECHAT_UNAVAILABLE": 502,
    "WECHAT_ERROR": 502,
    # auth
    "INVALID_LOGIN_CODE": 401,
    "INVALID_CREDENTIALS": 401,
    "ADMIN_USER_NOT_FOUND": 404,
    "USERNAME_TAKEN": 409,
    "CANNOT_CHANGE_OWN_ACCOUNT": 409,  # an admin may not disable or demote themself
    "LAST_ACTIVE_ADMIN": 409,  # the last active admin cannot be disabled or demoted
    # referral
    "ALREADY_BOUND": 409,
    "SELF_REFERRAL": 409,
    "REFERRAL_CYCLE": 409,
    "INVITE_CODE_NOT_FOUND": 404,
    "INVITER_NOT_DISTRIBUTOR": 422,
    "NOT_A_DISTRIBUTOR": 403,
    "APPLICATION_NOT_PENDING": 409,  # approve/reject of a user without a pending application
    "USER_NOT_A_DISTRIBUTOR": 409,  # an operator's change that only a distributor can have (own rates)
    # catalog / orders
    "PRODUCT_NOT_FOUND": 404,
    "CATALOG_IMPORT_NOT_FOUND": 404,
    "OUT_OF_STOCK": 409,
    "ORDER_NOT_FOUND": 404,
    "ORDER_NOT_PAYABLE": 409,
    "ORDER_NOT_REFUNDABLE": 409,
    "REFUND_EXCEEDS_PAID": 422,
    "ORDER_TOO_LARGE": 422,
    "ORDER_TOTAL_ZERO": 422,
    "BELOW_MOQ": 422,  # a line's quantity is below the product's minimum order quantity
    "NOT_A_MULTIPLE": 422,  # a line's quantity is not a whole number of order multiples (reels, bags)
    # substitutes (替代料)
    "SUBSTITUTE_NOT_ALLOWED": 422,  # substitute_for names a product this customer may not take in its place
    "SUBSTITUTE_GROUP_NOT_FOUND": 404,
    "BRAND_NOT_FOUND": 422,  # a brand name no alias knows
    "CUSTOMER_NOT_FOUND": 404,
    # commission / payouts
    "INSUFFICIENT_BALANCE": 422,
    "AMOUNT_TOO_SMALL": 422,
    "DAILY_LIMIT_EXCEEDED": 422,
    "PAYOUT_NOT_FOUND": 404,
    "PAYOUT_NOT_RETRYABLE": 409,
    "WITHDRAWAL_NOT_FOUND": 404,
    "STALE_SETTINGS": 409,  # If-Match / version of the distribution settings is not the stored one
    # analytics
    "INVALID_DATE_RANGE": 422,
    "NOT_A_TREE_ROOT": 422,
    # reconciliation (对账)
    "COUNTERPARTY_NOT_FOUND": 404,
    "PART_NOT_FOUND": 404,
    "PURCHASE_ORDER_NOT_FOUND": 404,
    "STATEMENT_NOT_FOUND": 404,
    "STATEMENT_RUN_NOT_FOUND": 404,
    "DUPLICATE_NUMBER": 409,
    "WRONG_COUNTERPARTY_KIND": 422,
    "QTY_EXCEEDS_OPEN": 422,
    "RETURN_EXCEEDS_RECEIVED": 422,  # all returns of a receipt line together above its quantity
    "IMPORT_UNREADABLE": 422,
    "IMPORT_BAD_COLUMNS": 422,
    "IMPORT_NO_VALID_ROWS": 422,
    "ALREADY_IMPORTED": 409,
    "STATEMENT_STATE_CONFLICT": 409,
    # group invites (私域导流)
    "ORDER_NOT_PAID": 409,
    "NO_GROUP_AVAILABLE": 404,
    "LIVE_CODE_NOT_FOUND": 404,
    "GROUP_NOT_FOUND": 404,
    "GROUP_INVITE_NOT_FOUND": 404,
    "CHAT_ID_TAKEN": 409,
    "INVALID_QR_IMAGE": 422,
    # distributor levels (分销员等级)
    "LEVEL_NOT_FOUND": 404,
    "LEVEL_EXISTS": 409,  # another level has this rank or name
    "LEVEL_RATES_OVER_CAP": 422,  # level-1 + level-2 above the shop's cap_bp
    "HEADCOUNT_FIELD_REFUSED": 422,  # a condition counting people recruited: head-count pay (DESIGN.md §3)
    # monthly targets and their bonuses (业绩目标)
    "TARGET_PLAN_NOT_FOUND": 404,
    "TARGET_PLAN_EXISTS": 409,  # a plan for this level or distributor and month exists
    "TARGET_SCOPE_INVALID": 422,  # neither or both of level_id and user_id
    "TARGET_TIERS_INVALID": 422,  # attainment and bonus rates must both increase
    "TARGET_PERIOD_NOT_DUE": 409,  # the month, its hold and refund window are not over yet
    # risk control (风控)
    "INVALID_RISK_SETTINGS": 422,  # a risk threshold outside its range
    "REVIEW_NOT_FOUND": 404,
    "REVIEW_ALREADY_DECIDED": 409,
    "DISTRIBUTOR_NOT_UNDER_REVIEW": 404,  # another operator approved or rejected this held order first
    # channel health (backend/channel)
    "INVITER_FROZEN": 409,  # the inviter is frozen by the operators: no new binds under them
    "CHANNEL_ALREADY_FROZEN": 409,
    "CHANNEL_NOT_FROZEN": 409,
    "CHANNEL_NOT_REVOKED": 409,  # restore of a distributor whose status was not revoked (disabled)
}


class ErrorBody(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Raw()


class ErrorSchema(Schema):
    """The one error shape: ``{"error": {"code", "message", "details"?}}``."""

    error = fields.Nested(ErrorBody, required=True)


class ApiError(Exception):
    """A failure with a stable code. Services raise it; the handler shapes it."""

    def __init__(self, code: str, message: str, status: int | None = None, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or ERROR_CODES.get(code, 400)
        self.details = details
        self.headers: dict[str, str] = {}  # sent with the answer (a 429's Retry-After)

    def to_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}


def error_response(code: str, message: str, status: int, details: dict | None = None):
    return jsonify(ApiError(code, message, status, details).to_dict()), status


_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    414: "URI_TOO_LONG",
    415: "UNSUPPORTED_MEDIA_TYPE",
    417: "EXPECTATION_FAILED",
    431: "HEADER_TOO_LARGE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
}


def _is_json_error(messages, exc: HTTPException) -> bool:
    """webargs reports a body it cannot parse as {"json": ["Invalid JSON body."]};
    Flask's own get_json() raises a plain 400 naming JSON."""
    if isinstance(messages, dict) and "json" in messages and "Invalid JSON" in str(messages["json"]):
        return True
    return "Failed to decode JSON" in (exc.description or "")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return jsonify(exc.to_dict()), exc.status, exc.headers

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        code = _HTTP_CODES.get(status, "INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST")
        details = None
        # webargs/flask-smorest put the field messages on exc.data
        data = getattr(exc, "data", None)
        messages = data.get("messages") if isinstance(data, dict) else None
        if status == 400 and _is_json_error(messages, exc):
            return error_response("MALFORMED_JSON", "The request body is not valid JSON", 400)
        if status == 422 and messages:
            details = messages
            message = "The request does not match the schema"
        elif status == 413:
            message = "The request body is too large"
        else:
            message = exc.description or exc.name
        response, _ = error_response(code, message, status, details)
        # Werkzeug's own headers of the error (a 405's Allow: which methods the URL takes)
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, status

    @app.errorhandler(DBAPIError)
    def _database_error(exc: DBAPIError):
        # A connection the database cut (a restart, a failover) fails the request that
        # held it; SQLAlchemy has dropped the pool by then, so the next try gets a new
        # connection. Nothing was committed (the boundary rolled back): say "try again"
        # (WeChat repeats a notify that was not answered SUCCESS), not "our bug".
        # A deadlock victim that no ``run_in_transaction`` ran again is the same case: the
        # database rolled it all back, and the same request a moment later goes through.
        if exc.connection_invalidated:
            app.logger.warning("database connection lost during a request: %s", exc.orig.__class__.__name__)
        elif is_deadlock(exc):
            app.logger.warning("a request lost a lock race and was rolled back: %s", exc.orig)
        else:
            return _unexpected(exc)
        response, status = error_response("SERVICE_UNAVAILABLE", "The database is unavailable; try again", 503)
        response.headers["Retry-After"] = "1"
        return response, status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        app.logger.exception("unhandled error")
        return error_response("INTERNAL_ERROR", "Internal server error", 500)
