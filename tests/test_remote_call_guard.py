"""No database transaction is open while WeChat is called (issue 19: a transaction
held across a remote call keeps its row locks for as long as WeChat takes).

``transactions.guard_remote_call`` runs before every SDK call of the gateway; under
tests it raises, so every test that drives a payment, refund, transfer or message
through a path that broke the rule would fail. These tests show the guard itself."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from backend.extensions import db, wechat
from backend.transactions import RemoteCallInTransaction, commit_before_remote_call
from backend.wechat.errors import WeChatError


def test_a_wechat_call_inside_an_open_transaction_is_refused_under_tests(live):
    with live.app.app_context():
        try:
            db.session.execute(text("SELECT 1"))  # a transaction is open now
            with pytest.raises(RemoteCallInTransaction, match="inside an open database transaction"):
                wechat().query_order("no-such-order")
            commit_before_remote_call()
            # Between transactions the same call goes out: WeChat answers it does not know the order.
            with pytest.raises(WeChatError, match="ORDERNOTEXIST"):
                wechat().query_order("no-such-order")
        finally:
            db.session.rollback()
            db.session.remove()


def test_in_production_the_call_goes_out_with_a_warning(live, caplog):
    app = live.app
    with app.app_context():
        app.testing = False
        try:
            db.session.execute(text("SELECT 1"))
            with (caplog.at_level(logging.WARNING, logger="backend.transactions"),
                  pytest.raises(WeChatError, match="ORDERNOTEXIST")):  # the call went out
                wechat().query_order("no-such-order")
            assert any("inside an open database transaction" in r.getMessage() for r in caplog.records)
        finally:
            app.testing = True
            db.session.rollback()
            db.session.remove()
