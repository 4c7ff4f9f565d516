"""Price breaks through the API: an operator gives a product breaks, an MOQ and a
multiple; an order line is priced at the break of its quantity, exactly at each edge,
with prices below a fen; refused quantities carry their codes; commission comes from
what the buyer paid for the line."""

from __future__ import annotations

from helpers import admin, buy, create_product, distributor, drain, login

MICRO_BREAKS = [{"min_qty": 1, "unit_price": "0.0065"}, {"min_qty": 1000, "unit_price": "0.0062"},
                {"min_qty": 10000, "unit_price": "0.005815"}]


def _order(client, product_id, quantity):
    return client.post("/orders", json={"items": [{"product_id": product_id, "quantity": quantity}]})


def test_a_line_is_priced_at_the_break_of_its_quantity_at_every_edge(live, admin_token):
    ops = admin(live, admin_token)
    product = create_product(ops, stock=100_000, price_breaks=MICRO_BREAKS)
    assert product["price_fen"] == 1  # 0.65 fen rounded half-up
    assert product["price_breaks"] == [{"min_qty": 1, "unit_price": "0.006500"},
                                       {"min_qty": 1000, "unit_price": "0.006200"},
                                       {"min_qty": 10000, "unit_price": "0.005815"}]
    buyer = login(live)
    assert buyer.get(f"/products/{product['id']}").json()["price_breaks"] == product["price_breaks"]
    seen = []
    for quantity in (999, 1000, 1001, 9999, 10000, 10001):
        r = _order(buyer, product["id"], quantity)
        assert r.status_code == 201, r.text
        [line] = r.json()["items"]
        seen.append((quantity, line["unit_price"], line["amount_fen"], r.json()["total_fen"]))
    assert seen == [(999, "0.006500", 649, 649), (1000, "0.006200", 620, 620), (1001, "0.006200", 621, 621),
                    (9999, "0.006200", 6199, 6199), (10000, "0.005815", 5815, 5815),
                    (10001, "0.005815", 5816, 5816)]


def test_moq_and_multiples_are_refused_with_their_codes_and_nothing_changes(live, admin_token):
    ops = admin(live, admin_token)
    reel = create_product(ops, stock=20_000, moq=4000, order_multiple=4000,
                          price_breaks=[{"min_qty": 4000, "unit_price": "0.0031"},
                                        {"min_qty": 12000, "unit_price": "0.0028"}])
    buyer = login(live)
    below = _order(buyer, reel["id"], 3999)
    assert below.status_code == 422 and below.json()["error"]["code"] == "BELOW_MOQ"
    assert below.json()["error"]["details"]["moq"] == 4000
    odd = _order(buyer, reel["id"], 5000)
    assert odd.status_code == 422 and odd.json()["error"]["code"] == "NOT_A_MULTIPLE"
    assert odd.json()["error"]["details"]["nearest"] == [4000, 8000]
    assert ops.get(f"/admin/products/{reel['id']}").json()["stock"] == 20_000
    ok = _order(buyer, reel["id"], 12000)
    assert ok.status_code == 201 and ok.json()["total_fen"] == 3360  # 12000 × 0.28 fen


def test_breaks_that_cannot_be_right_are_refused_on_write(live, admin_token):
    ops = admin(live, admin_token)
    base = {"title": "x", "stock": 1}
    for body in ({**base, "moq": 10, "price_breaks": [{"min_qty": 1, "unit_price": "0.01"}]},  # not at the MOQ
                 {**base, "price_breaks": [{"min_qty": 1, "unit_price": "0.01"},
                                           {"min_qty": 100, "unit_price": "0.02"}]},  # rises
                 {**base, "price_breaks": [{"min_qty": 1, "unit_price": 0.01}]},  # a JSON number
                 {**base, "price_breaks": [{"min_qty": 1, "unit_price": "0.0000001"}]},  # below a micro-yuan
                 base):  # no price at all
        r = ops.post("/admin/products", json=body)
        assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR", (body, r.text)


def test_price_fen_alone_still_makes_one_break_and_edits_it(live, admin_token):
    ops = admin(live, admin_token)
    product = create_product(ops, price_fen=250)
    assert (product["moq"], product["order_multiple"], product["price_breaks"]) == (
        1, 1, [{"min_qty": 1, "unit_price": "2.500000"}])
    r = ops.put(f"/admin/products/{product['id']}", json={"price_fen": 240})
    assert r.json()["price_breaks"] == [{"min_qty": 1, "unit_price": "2.400000"}] and r.json()["price_fen"] == 240


def test_commission_comes_from_what_the_buyer_paid_for_the_line(live, admin_token):
    ops = admin(live, admin_token)
    product = create_product(ops, stock=10_000, level1_bp=1000, level2_bp=0, price_breaks=MICRO_BREAKS)
    inviter = distributor(live)
    buyer = login(live, invite_code=inviter.user["invite_code"])
    order = buy(live, buyer, product["id"], quantity=1001)
    assert order["total_fen"] == 621  # not 1001 × price_fen (1001) nor 1001 × 0.65
    drain(live)
    [earned] = inviter.get("/me/commissions").json()["items"]
    assert (earned["order_id"], earned["level"], earned["amount_fen"]) == (order["id"], 1, 62)  # 10% of 621, down


def test_a_form_sending_price_fen_back_unchanged_keeps_sub_fen_breaks(live, admin_token):
    ops = admin(live, admin_token)
    product = create_product(ops, price_breaks=MICRO_BREAKS)
    r = ops.put(f"/admin/products/{product['id']}", json={"title": "renamed", "price_fen": product["price_fen"]})
    assert r.status_code == 200 and r.json()["price_breaks"] == product["price_breaks"]
    r = ops.put(f"/admin/products/{product['id']}", json={"price_fen": 2})
    assert r.json()["price_breaks"][0] == {"min_qty": 1, "unit_price": "0.020000"}
    assert r.json()["price_fen"] == 2
