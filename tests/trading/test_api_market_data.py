"""Instruments, book depth, the partner's trades and positions over the API."""

import pytest

from ledger.selectors import holds_by_origin
from trading.models import Trade

pytestmark = pytest.mark.django_db
ORDERS = "/api/v1/trading/orders/"


@pytest.fixture(autouse=True)
def _inline(settings):
    settings.TRADING_MATCH_INLINE = True


def order(client, cid, side, price, quantity, **extra):
    data = {
        "client_order_id": cid,
        "symbol": "ACME/USD",
        "side": side,
        "type": "limit",
        "time_in_force": "gtc",
        "price": price,
        "quantity": quantity,
        **extra,
    }
    response = client.post(ORDERS, data, format="json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def traders(partner_api, other_partner_api, partner, other_partner, acme, fund):
    fund(partner, "USD", 10_000_000)
    fund(partner, "ACME", 1_000)
    fund(other_partner, "USD", 10_000_000)
    fund(other_partner, "ACME", 1_000)
    return partner_api, other_partner_api


def test_instruments_list_their_terms_as_decimal_strings(partner_api, acme):
    (listed,) = partner_api.get("/api/v1/trading/instruments/").json()
    assert listed == {
        "symbol": "ACME/USD",
        "base_asset": "ACME",
        "quote_asset": "USD",
        "tick_size": "0.01",
        "lot_size": "1",
        "collar_low": "1.00",
        "collar_high": "1000.00",
        "status": "trading",
    }


def test_the_book_aggregates_resting_quantity_per_price_best_first(traders):
    alpha, beta = traders
    order(alpha, "b1", "buy", "9.90", "10")
    order(alpha, "b2", "buy", "9.90", "5")
    order(beta, "b3", "buy", "9.80", "7")
    order(beta, "s1", "sell", "10.10", "4")
    order(alpha, "s2", "sell", "10.20", "6")
    order(beta, "s3", "sell", "9.90", "3")  # trades 3 against b1: 7 of it rests
    for path in ("ACME-USD", "ACME%2FUSD"):
        book = alpha.get(f"/api/v1/trading/instruments/{path}/book/").json()
        assert book == {
            "symbol": "ACME/USD",
            "bids": [["9.90", "12"], ["9.80", "7"]],
            "asks": [["10.10", "4"], ["10.20", "6"]],
        }
    top = alpha.get("/api/v1/trading/instruments/ACME-USD/book/", {"levels": 1}).json()
    assert (top["bids"], top["asks"]) == ([["9.90", "12"]], [["10.10", "4"]])
    assert alpha.get("/api/v1/trading/instruments/NOPE-USD/book/").status_code == 404
    assert alpha.get("/api/v1/trading/instruments/ACME-USD/book/?levels=0").status_code == 400


def test_trades_are_the_partners_fills_from_its_side(traders):
    alpha, beta = traders
    buy = order(alpha, "b1", "buy", "10.00", "10")
    sell = order(beta, "s1", "sell", "10.00", "4")
    trade = Trade.objects.get()
    mine = alpha.get("/api/v1/trading/trades/").json()["results"]
    theirs = beta.get("/api/v1/trading/trades/").json()["results"]
    assert [(t["id"], t["order"], t["side"], t["price"], t["quantity"]) for t in mine] == [
        (str(trade.pk), buy["id"], "buy", "10.00", "4")
    ]
    assert [(t["order"], t["side"]) for t in theirs] == [(sell["id"], "sell")]
    assert mine[0]["symbol"] == "ACME/USD" and mine[0]["executed_at"]
    assert alpha.get("/api/v1/trading/trades/", {"symbol": "GLOBEX-USD"}).json()["results"] == []


def test_positions_add_up_settled_unsettled_open_and_cash_held(traders):
    alpha, beta = traders
    order(alpha, "b1", "buy", "10.00", "10")  # 4 fill below, 6 stay open
    order(beta, "s1", "sell", "10.00", "4")
    order(alpha, "s2", "sell", "12.00", "3")  # open sell
    (mine,) = alpha.get("/api/v1/trading/positions/").json()
    assert mine == {
        "symbol": "ACME/USD",
        "settled": "1000",
        "unsettled_bought": "4",
        "unsettled_sold": "0",
        "open_buy": "6",
        "open_sell": "3",
        "cash_held": "100.00",  # the whole buy: its 4 filled stay held until settlement
    }
    (theirs,) = beta.get("/api/v1/trading/positions/").json()
    assert (theirs["unsettled_sold"], theirs["open_buy"], theirs["cash_held"]) == (
        "4",
        "0",
        "0.00",
    )
    Trade.objects.update(settlement_batch_id="00000000-0000-0000-0000-000000000001")
    (after,) = alpha.get("/api/v1/trading/positions/").json()
    assert after["unsettled_bought"] == "0"
    assert sum(h.amount for h in holds_by_origin(origin="order") if h.asset_id == "USD") == 10_000
