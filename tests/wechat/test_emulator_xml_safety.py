"""The emulator's XML endpoints refuse a DTD as WeChat refuses unreadable XML
(return_code FAIL, XML格式错误) and change nothing; the same body without it is taken."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for xml_attacks
from xml_attacks import ATTACKS, hostile  # noqa: E402

from backend.wechat.emulator.signing import nonce, parse_xml, to_xml, v2_sign  # noqa: E402


def _signed(cfg, **fields) -> str:
    body = {"appid": cfg.appid, "mch_id": cfg.mch_id, "nonce_str": nonce(), **fields}
    body["sign"] = v2_sign(body, cfg.pay_api_key)
    return to_xml(body)


def _post(cfg, path: str, body: bytes | str) -> dict:
    r = requests.post(cfg.pay_api_base + path, data=body, headers={"Content-Type": "text/xml"}, timeout=10)
    assert r.status_code == 200, r.text
    return parse_xml(r.content)


@pytest.mark.parametrize("attack", ATTACKS)
def test_unifiedorder_and_orderquery_with_a_dtd_are_refused_and_change_nothing(cfg, attack):
    out_trade_no = "X" + uuid.uuid4().hex[:20]
    order = _signed(cfg, out_trade_no=out_trade_no, total_fee="100", body="xml", trade_type="JSAPI",
                    openid="o-xml", notify_url="http://127.0.0.1:9/notify", spbill_create_ip="127.0.0.1")
    query = _signed(cfg, out_trade_no=out_trade_no)

    for path, body in (("/pay/unifiedorder", order), ("/pay/orderquery", query)):
        answer = _post(cfg, path, hostile(body, attack))
        assert (answer["return_code"], answer["return_msg"]) == ("FAIL", "XML格式错误")
    assert _post(cfg, "/pay/orderquery", query)["err_code"] == "ORDERNOTEXIST"  # no order was made

    assert _post(cfg, "/pay/unifiedorder", order)["result_code"] == "SUCCESS"
    assert _post(cfg, "/pay/orderquery", query)["trade_state"] == "NOTPAY"
