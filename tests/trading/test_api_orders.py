"""The partner API for orders (API.md "Trading"): place, list, detail, cancel, with the
embedded default's inline matching; error codes and what each leaves behind."""

import pytest

from ledger.models import Account
from ledger.selectors import hold_current, holds_by_origin
from trading.models import Order
from trading.services.instruments import instrument_halt

ORDERS = "/api/v1/trading/orders/"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _inline(settings):
    settings.TRADING_MATCH_INLINE = True


def body(cid="c1", side="buy", price="10.00", quantity="100", **extra):
    data = {
        "client_order_id": cid,
        "symbol": "ACME/USD",
        "side": side,
        "type": "limit",
        "time_in_force": "gtc",
        "price": price,
        "quantity": quantity,
    }
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


def post(client, data, **kw):
    return client.post(ORDERS, data, format="json", **kw)


def available(account) -> int:
    return Account.objects.get(pk=account.pk).available_balance


def test_crossing_orders_over_the_api_trade_and_hold_exactly_the_trade(
    partner_api, other_partner_api, partner, other_partner, acme, fund
):
    alpha_usd = fund(partner, "USD", 1_000_000)
    beta_acme = fund(other_partner, "ACME", 10_000)
    bought = post(partner_api, body("buy-1"))
    assert bought.status_code == 201, bought.content
    assert bought.json()["status"] == "accepted"
    sold = post(other_partner_api, body("sell-1", side="sell"))
    assert sold.status_code == 201, sold.content
    sell = sold.json()
    assert (sell["status"], sell["filled_quantity"], sell["average_price"]) == (
        "filled",
        "100",
        "10.00",
    )
    buy = partner_api.get(f"{ORDERS}{bought.json()['id']}/").json()
    assert (buy["status"], buy["filled_quantity"], buy["price"]) == ("filled", "100", "10.00")
    assert available(alpha_usd) == 1_000_000 - 100_000
    assert available(beta_acme) == 10_000 - 100
    held = {h.asset_id: h.amount for h in holds_by_origin(origin="order")}
    assert held == {"USD": 100_000, "ACME": 100}


def test_an_order_answers_with_the_whole_order_shape(partner_api, partner, acme, fund):
    fund(partner, "USD", 1_000_000)
    response = post(partner_api, body(price="10.5", quantity="3"))
    order = response.json()
    assert response.status_code == 201
    assert {
        "id",
        "client_order_id",
        "symbol",
        "side",
        "type",
        "time_in_force",
        "price",
        "quantity",
        "filled_quantity",
        "status",
    } <= set(order)
    assert (order["symbol"], order["price"], order["quantity"]) == ("ACME/USD", "10.50", "3")
    assert order["average_price"] is None and order["sequence"] == 1


def test_a_retried_post_with_the_same_client_order_id_is_the_same_order(
    partner_api, partner, acme, fund
):
    usd = fund(partner, "USD", 1_000_000)
    first = post(partner_api, body())
    again = post(partner_api, body())
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    other = post(partner_api, body(price="11.00"))
    assert other.status_code == 409 and other.json()["code"] == "conflict"
    assert Order.objects.count() == 1 and available(usd) == 900_000


def test_an_idempotency_key_replays_the_first_answer(partner_api, partner, acme, fund):
    fund(partner, "USD", 1_000_000)
    headers = {"Idempotency-Key": "k-1"}
    first = post(partner_api, body(), headers=headers)
    again = post(partner_api, body(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    reused = post(partner_api, body("c2"), headers=headers)
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"


def test_an_order_beyond_the_partners_funds_is_422_and_leaves_nothing(
    partner_api, partner, acme, fund
):
    usd = fund(partner, "USD", 99_999)
    response = post(partner_api, body())
    assert response.status_code == 422
    assert response.json()["code"] == "insufficient_funds"
    assert not Order.objects.exists() and not holds_by_origin(origin="order").exists()
    assert available(usd) == 99_999


def test_a_partner_cannot_void_its_orders_hold_through_the_ledger_api(
    partner_api, partner, acme, fund
):
    usd = fund(partner, "USD", 1_000_000)
    order = post(partner_api, body()).json()
    hold_id = Order.objects.get(pk=order["id"]).hold_id
    for action in ("void", "post"):
        response = partner_api.post(
            f"/api/v1/ledger/transfers/{hold_id}/{action}/", {}, format="json"
        )
        assert response.status_code == 409, response.content
        assert response.json()["details"]["holder"] == {"origin": "order", "ref": order["id"]}
    assert hold_current(hold_id=hold_id).status == "pending"
    assert available(usd) == 900_000
    detail = partner_api.get(f"/api/v1/ledger/transfers/{hold_id}/").json()
    assert (detail["origin"], detail["origin_ref"]) == ("order", order["id"])


def test_a_halted_instrument_refuses_orders_with_409(partner_api, partner, acme, fund):
    fund(partner, "USD", 1_000_000)
    instrument_halt(instrument=acme, acting_user=None)
    response = post(partner_api, body())
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert response.json()["details"] == {"symbol": "ACME/USD", "status": "halted"}
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"price": "10.001"}, "price"),  # finer than the quote's cents
        ({"price": "0.50"}, "price"),  # under the collar
        ({"quantity": "1.5"}, "quantity"),  # ACME has no fractions
        ({"price": 10}, "price"),  # a JSON number
        ({"side": "short"}, "side"),
        ({"type": "market"}, "price"),  # a market order with a price
        ({"price": None}, "price"),  # a limit order without one
        ({"symbol": "NOPE/USD"}, None),
    ],
)
def test_invalid_orders_are_refused_before_anything_is_written(
    partner_api, partner, acme, fund, fields, field
):
    fund(partner, "USD", 1_000_000)
    data = body()
    data.update(fields)
    response = post(partner_api, {k: v for k, v in data.items() if v is not None})
    if field is None:
        assert response.status_code == 404
    else:
        assert response.status_code == 400, response.content
        assert field in response.json()["details"]
    assert not Order.objects.exists()


def test_another_partners_order_is_not_found(partner_api, other_partner_api, partner, acme, fund):
    fund(partner, "USD", 1_000_000)
    order = post(partner_api, body()).json()
    assert other_partner_api.get(f"{ORDERS}{order['id']}/").status_code == 404
    cancel = other_partner_api.post(f"{ORDERS}{order['id']}/cancel/", {}, format="json")
    assert cancel.status_code == 404
    assert other_partner_api.get(ORDERS).json()["results"] == []
    assert Order.objects.get(pk=order["id"]).status == "accepted"


def test_cancel_releases_the_funds_and_a_second_cancel_is_409(partner_api, partner, acme, fund):
    usd = fund(partner, "USD", 1_000_000)
    order = post(partner_api, body()).json()
    cancelled = partner_api.post(f"{ORDERS}{order['id']}/cancel/", {}, format="json")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert available(usd) == 1_000_000
    again = partner_api.post(f"{ORDERS}{order['id']}/cancel/", {}, format="json")
    assert again.status_code == 409 and again.json()["details"]["status"] == "cancelled"


def test_cancelling_a_filled_order_is_409(
    partner_api, other_partner_api, partner, other_partner, acme, fund
):
    fund(partner, "USD", 1_000_000)
    fund(other_partner, "ACME", 10_000)
    post(other_partner_api, body("s", side="sell"))
    order = post(partner_api, body()).json()
    assert order["status"] == "filled"
    response = partner_api.post(f"{ORDERS}{order['id']}/cancel/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert response.json()["details"]["status"] == "filled"


def test_a_full_queue_answers_503_with_retry_after(partner_api, partner, acme, fund, settings):
    settings.TRADING_MATCH_INLINE = False  # a matcher process that is alive but behind
    from django.utils import timezone

    from trading.models import MatcherState

    MatcherState.objects.create(instrument=acme, heartbeat_at=timezone.now())
    fund(partner, "USD", 1_000_000)
    acme.max_unmatched = 1
    acme.save(update_fields=["max_unmatched"])
    assert post(partner_api, body("a")).status_code == 201
    response = post(partner_api, body("b"))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json()["code"] == "service_unavailable"
    assert Order.objects.count() == 1


def test_orders_list_filters_by_symbol_and_status(partner_api, partner, acme, fund):
    fund(partner, "USD", 1_000_000)
    post(partner_api, body("a"))
    b = post(partner_api, body("b")).json()
    partner_api.post(f"{ORDERS}{b['id']}/cancel/", {}, format="json")
    listed = partner_api.get(ORDERS, {"symbol": "ACME-USD", "status": "cancelled"}).json()
    assert [o["client_order_id"] for o in listed["results"]] == ["b"]
    assert len(partner_api.get(ORDERS).json()["results"]) == 2
    assert partner_api.get(ORDERS, {"symbol": "GLOBEX/USD"}).json()["results"] == []
    assert partner_api.get(ORDERS, {"status": "bogus"}).status_code == 400


def test_a_symbol_filter_that_is_no_symbol_is_400(partner_api, acme):
    for bad in ("\x00", "ACME", "A/B/C"):
        response = partner_api.get(ORDERS, {"symbol": bad})
        assert response.status_code == 400, (bad, response.content)
        assert "symbol" in response.json()["details"]
    assert partner_api.get("/api/v1/trading/trades/", {"symbol": "\x00"}).status_code == 400
