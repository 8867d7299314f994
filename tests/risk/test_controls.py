"""Pre-trade controls staff flip in the console, effective on the next order: kill switch
(halt or reduce-only) per partner and per instrument, max quantity and notional, a price
collar around the last trade (else the reference; with neither, fail closed), an order-rate
limit and a daily credit limit."""

import pytest

from risk.models import Control
from risk.services import config_delete, config_save
from trading.models import Trade
from trading.services.orders import order_place

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _inline(settings):
    settings.TRADING_MATCH_INLINE = True


@pytest.fixture
def trader(partner, fund, acme):
    fund(partner, "USD", 1_000_000_000)
    fund(partner, "ACME", 1_000_000)
    return partner


def place(partner, instrument, *, side="buy", price=1000, quantity=10, type="limit", cid=None):
    place.count = getattr(place, "count", 0) + 1
    return order_place(
        partner=partner,
        instrument=instrument,
        client_order_id=cid or f"o{place.count}",
        side=side,
        type=type,
        time_in_force="gtc" if type == "limit" else "ioc",
        price=price if type == "limit" else None,
        quantity=quantity,
    ).order


def outcome(order) -> tuple[str, list[str]]:
    return order.risk_decision["outcome"], order.risk_decision["reasons"]


def control(**fields) -> Control:
    return config_save(instance=Control(**fields))


def test_a_kill_switch_per_partner_halts_its_next_order_and_lifting_it_resumes(trader, acme):
    switch = control(kind="kill_switch", partner=trader)
    assert outcome(place(trader, acme)) == ("reject", ["kill_switch"])
    config_delete(instance=switch)
    assert outcome(place(trader, acme)) == ("allow", [])


def test_a_kill_switch_on_another_instrument_or_partner_does_not_apply(trader, acme, other_partner):
    control(kind="kill_switch", instrument="OTHER/USD")
    control(kind="kill_switch", partner=other_partner)
    assert outcome(place(trader, acme)) == ("allow", [])


def test_reduce_only_refuses_buys_and_lets_sells_through(trader, acme):
    control(kind="reduce_only", instrument="ACME/USD")
    assert outcome(place(trader, acme, side="buy")) == ("reject", ["reduce_only"])
    assert outcome(place(trader, acme, side="sell")) == ("allow", [])


def test_max_quantity_and_notional(trader, acme):
    control(kind="max_quantity", instrument="ACME/USD", limit=50)
    control(kind="max_notional", partner=trader, limit=40_000)  # 400.00 USD
    assert outcome(place(trader, acme, quantity=40)) == ("allow", [])  # 40 x 10.00 = 400.00
    assert outcome(place(trader, acme, quantity=41)) == ("reject", ["max_notional"])
    assert outcome(place(trader, acme, quantity=51, price=100)) == ("reject", ["max_quantity"])


def test_the_price_collar_fails_closed_without_a_reference_then_uses_it_then_the_last_trade(
    trader, acme, other_partner, fund
):
    fund(other_partner, "ACME", 10)
    collar = control(kind="price_collar", instrument="ACME/USD", limit=1000)  # +-10%
    assert outcome(place(trader, acme)) == ("reject", ["price_collar_no_reference"])
    collar.reference_price = 1000
    config_save(instance=collar)
    assert outcome(place(trader, acme, price=1100)) == ("allow", [])
    assert outcome(place(trader, acme, price=1101)) == ("reject", ["price_collar"])
    assert outcome(place(trader, acme, price=900)) == ("allow", [])
    # A trade at 20.00 moves the reference there.
    config_delete(instance=collar)
    place(other_partner, acme, side="sell", price=2000, quantity=1)
    place(trader, acme, side="buy", price=2000, quantity=1)
    assert Trade.objects.get().price == 2000
    config_save(
        instance=Control(
            kind="price_collar", instrument="ACME/USD", limit=1000, reference_price=1000
        )
    )
    assert outcome(place(trader, acme, price=1100)) == ("reject", ["price_collar"])
    assert outcome(place(trader, acme, price=2200)) == ("allow", [])


def test_a_market_order_is_not_held_to_the_collar(trader, acme):
    control(kind="price_collar", instrument="ACME/USD", limit=1000)
    assert outcome(place(trader, acme, type="market", side="sell")) == ("allow", [])


def test_the_order_rate_limit_counts_this_minutes_orders(trader, acme):
    control(kind="order_rate", partner=trader, limit=3)
    results = [outcome(place(trader, acme, price=100 + i))[0] for i in range(4)]
    assert results == ["allow", "allow", "allow", "reject"]


def test_the_daily_credit_limit_adds_up_todays_buys(trader, acme):
    control(kind="daily_credit", partner=trader, limit=25_000)  # 250.00 USD
    assert outcome(place(trader, acme, quantity=10))[0] == "allow"  # 100.00
    assert outcome(place(trader, acme, side="sell", quantity=10))[0] == "allow"  # not credit
    assert outcome(place(trader, acme, quantity=10))[0] == "allow"  # 200.00
    assert outcome(place(trader, acme, quantity=10)) == ("reject", ["daily_credit"])  # 300.00
