"""代客下单 (issue 14: "the buyer, or sales in the console, accepts an offer"): a customer
calls; their part is short; sales read what this customer would be offered, accept a
substitute for them and place the order, which the customer pays in the mini-program.
The line keeps the original and the substitute with who accepted it (sales) and when;
the customer's memory learns it; commission comes from the paid line as always."""

from __future__ import annotations

import random
import uuid

from helpers import distributor, drain, finance_client, login, pay
from test_substitutes import _import, _product

DETAIL = "/admin/orders/{}"


def _catalog(live, ops, tag: str) -> tuple[dict, dict, dict]:
    value = f"{random.randrange(10_000, 99_999)}pF"
    _import(live, ops, [
        [f"SO{tag}FH", "风华", "0402", value, "16V", "±10%", "X7R", "100", "1-:0.0080"],
        [f"SO{tag}MU", "村田", "0402", value, "16V", "10%", "X7R", "10000", "1-999:0.0070;1000-:0.0065"],
        [f"SO{tag}X5", "村田", "0402", value, "16V", "10%", "X5R", "10000", "1-:0.0010"],  # another spec
    ])
    fenghua, murata, x5r = (_product(ops, f"SO{tag}{s}") for s in ("FH", "MU", "X5"))
    assert ops.post("/admin/substitute-groups/propose").status_code == 200
    [group] = ops.get("/admin/substitute-groups", params={"q": f"SO{tag}"}).json()["items"]
    assert ops.post(f"/admin/substitute-groups/{group['id']}/approve").status_code == 200
    return fenghua, murata, x5r


def test_sales_accept_a_substitute_for_a_customer_who_pays_it_and_is_offered_it_first_next_time(live, ops):
    tag = uuid.uuid4().hex[:6].upper()
    fenghua, murata, x5r = _catalog(live, ops, tag)
    inviter = distributor(live)
    customer = login(live, invite_code=inviter.user["invite_code"])
    cid = customer.user["id"]

    # what this customer would be offered, read before accepting (nothing changes)
    seen = ops.get(f"/admin/customers/{cid}/substitute-offers", params={"product_id": fenghua["id"], "quantity": 1000})
    assert seen.status_code == 200, seen.text
    assert (seen.json()["available"], [(o["mpn"], o["reason"], o["amount_fen"]) for o in seen.json()["offers"]]) == (
        100, [(f"SO{tag}MU", "approved", 650)])
    # ordered as asked: short, answered with this customer's offers, nothing placed
    short = ops.post(f"/admin/customers/{cid}/orders",
                     json={"items": [{"product_id": fenghua["id"], "quantity": 1000}]})
    assert short.status_code == 409 and short.json()["error"]["code"] == "OUT_OF_STOCK"
    [line] = short.json()["error"]["details"]["items"]
    assert [o["product_id"] for o in line["offers"]] == [murata["id"]]
    # a substitute nobody approved for this part is refused, and nothing is placed
    wrong = ops.post(f"/admin/customers/{cid}/orders", json={"items": [
        {"product_id": x5r["id"], "quantity": 1000, "substitute_for": fenghua["id"]}]})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "SUBSTITUTE_NOT_ALLOWED"

    placed = ops.post(f"/admin/customers/{cid}/orders", json={"items": [
        {"product_id": murata["id"], "quantity": 1000, "substitute_for": fenghua["id"]}]})
    assert placed.status_code == 201, placed.text
    order = placed.json()["order"]
    me = ops.get("/admin/me").json()["username"]
    assert (order["buyer"]["id"], order["placed_by"], order["status"], order["total_fen"]) == (
        cid, me, "pending_payment", 650)
    [item] = order["items"]
    assert (item["product_id"], item["quantity"], item["unit_price"], item["line_total_fen"]) == (
        murata["id"], 1000, "0.006500", 650)
    assert item["substitute_for"] == {"product_id": fenghua["id"], "title": fenghua["title"],
                                      "part_no": f"SO{tag}FH"}
    assert item["substitute_accepted_by"] == {"kind": "sales", "name": me} and item["substitute_accepted_at"]
    assert ops.get(f"/admin/products/{murata['id']}").json()["stock"] == 9000  # reserved
    [entry] = ops.get("/admin/audit", params={"target_type": "order", "target_id": order["id"]}).json()["items"]
    assert (entry["admin_username"], entry["after"]["placed_for"], entry["after"]["items"]) == (
        me, cid, [{"product_id": murata["id"], "quantity": 1000, "substitute_for": fenghua["id"]}])

    # the customer finds it under their orders in the mini-program, as placed by sales, and pays it
    listed = customer.get("/me/orders", params={"status": "pending_payment"}).json()
    assert [(o["id"], o["placed_by_sales"], o["total_fen"]) for o in listed["items"]] == [(order["id"], True, 650)]
    assert listed["total"] == 1 and customer.get("/me/orders", params={"status": "paid"}).json()["items"] == []
    assert login(live).get("/me/orders").json() == {"items": [], "page": 1, "per_page": 20, "total": 0}
    mine = customer.get(f"/orders/{order['id']}").json()
    assert (mine["placed_by_sales"], mine["items"][0]["substitute_for"]) == (True, fenghua["id"])
    r = customer.post(f"/orders/{order['id']}/pay")
    assert r.status_code == 200, r.text
    assert "SUCCESS" in pay(live, r.json()["out_trade_no"])["reply"]
    drain(live)
    assert customer.get(f"/orders/{order['id']}").json()["status"] == "paid"
    [earned] = inviter.get("/me/commissions").json()["items"]
    rate = ops.get("/admin/settings/distribution").json()["level1_bp"]
    assert (earned["order_id"], earned["amount_fen"]) == (order["id"], 650 * rate // 10_000)  # from the paid line

    # the customer's own order of the part next month: sales' acceptance is remembered
    status = customer.post("/orders", json={"items": [{"product_id": fenghua["id"], "quantity": 1000}]})
    [again] = status.json()["error"]["details"]["items"]
    assert [(o["product_id"], o["reason"]) for o in again["offers"]][:1] == [(murata["id"], "remembered")]
    memory = ops.get(f"/admin/customers/{cid}/substitute-memory").json()
    assert [(m["substitute"]["part_id"], m["order_id"], m["accepted_by"], m["sales"]) for m in memory["accepted"]] == [
        (murata["part_id"], order["id"], "sales", me)]
    # the customer's own orders still say nothing of sales
    own = customer.post("/orders", json={"items": [
        {"product_id": murata["id"], "quantity": 1000, "substitute_for": fenghua["id"]}]})
    assert own.status_code == 201 and own.json()["placed_by_sales"] is False
    detail = ops.get(DETAIL.format(own.json()["id"])).json()["order"]
    assert (detail["placed_by"], detail["items"][0]["substitute_accepted_by"]) == (
        None, {"kind": "customer", "name": customer.user["nickname"]})
    everything = customer.get("/me/orders").json()["items"]  # newest first, each with its lines
    assert [(o["id"], o["status"], o["placed_by_sales"]) for o in everything] == [
        (own.json()["id"], "pending_payment", False), (order["id"], "paid", True)]
    assert everything[1]["items"][0]["substitute_for"] == fenghua["id"]


def test_only_operators_place_orders_for_customers_who_exist(live, ops):
    tag = uuid.uuid4().hex[:6].upper()
    _, murata, _ = _catalog(live, ops, tag)
    body = {"items": [{"product_id": murata["id"], "quantity": 10}]}
    assert ops.post("/admin/customers/2147483000/orders", json=body).json()["error"]["code"] == "CUSTOMER_NOT_FOUND"
    customer = login(live)
    finance = finance_client(live)
    r = finance.post(f"/admin/customers/{customer.user['id']}/orders", json=body)
    assert r.status_code == 403
    bad = ops.post(f"/admin/customers/{customer.user['id']}/orders", json={"items": [
        {"product_id": murata["id"], "quantity": -5}]})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "VALIDATION_ERROR"
    assert ops.get(f"/admin/products/{murata['id']}").json()["stock"] == 10000  # nothing was taken
