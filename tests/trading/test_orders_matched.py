"""Order entry with the embedded default's inline matching: the POST's service returns the
matched order, and exactly what fills consumed stays held."""

import pytest

from ledger.selectors import account_balance, hold_current, transfer_by_id
from trading import errors
from trading.models import Trade
from trading.services.orders import order_cancel, order_place

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _inline(settings):
    settings.TRADING_MATCH_INLINE = True


def place(partner, instrument, *, cid, side, price, quantity, type="limit", tif="gtc"):
    return order_place(
        partner=partner,
        instrument=instrument,
        client_order_id=cid,
        side=side,
        type=type,
        time_in_force=tif,
        price=price,
        quantity=quantity,
    ).order


def held(order) -> int:
    hold = hold_current(hold_id=order.hold_id)
    return hold.amount if hold.status == "pending" else 0


def balances(account):
    account.refresh_from_db()
    return account_balance(account=account)


def test_crossing_orders_trade_once_and_keep_exactly_the_trades_amounts_held(
    partner, other_partner, acme, fund
):
    alpha_usd = fund(partner, "USD", 1_000_000)
    beta_acme = fund(other_partner, "ACME", 10_000)
    buy = place(partner, acme, cid="b1", side="buy", price=1000, quantity=100)
    assert buy.status == "accepted" and buy.booked  # rests: nothing to cross yet
    sell = place(other_partner, acme, cid="s1", side="sell", price=1000, quantity=100)
    buy.refresh_from_db()
    (trade,) = Trade.objects.all()
    assert (trade.buy_order_id, trade.sell_order_id) == (buy.pk, sell.pk)
    assert (trade.price, trade.quantity, trade.aggressor_side) == (1000, 100, "sell")
    assert (buy.status, buy.filled_quantity, buy.filled_notional) == ("filled", 100, 100_000)
    assert (sell.status, sell.filled_quantity) == ("filled", 100)
    assert (held(buy), held(sell)) == (100_000, 100)  # the trade's cash and shares
    assert balances(alpha_usd).available == 900_000
    assert balances(beta_acme).available == 9_900


def test_a_partly_filled_order_cancelled_releases_only_its_unfilled_part(
    partner, other_partner, acme, fund
):
    alpha_usd = fund(partner, "USD", 1_000_000)
    fund(other_partner, "ACME", 10_000)
    place(other_partner, acme, cid="s1", side="sell", price=990, quantity=30)
    buy = place(partner, acme, cid="b1", side="buy", price=1000, quantity=100)
    assert (buy.status, buy.filled_quantity, buy.filled_notional) == (
        "partially_filled",
        30,
        29_700,  # at the resting sell's 9.90
    )
    assert held(buy) == 100_000 and balances(alpha_usd).available == 900_000
    cancelled = order_cancel(order=buy)
    assert cancelled.status == "cancelled"
    assert held(cancelled) == 29_700
    assert transfer_by_id(transfer_id=buy.hold_id).status == "voided"
    assert balances(alpha_usd).available == 1_000_000 - 29_700
    # Off the book: a later sell at its price finds nothing to trade with.
    place(other_partner, acme, cid="s2", side="sell", price=1000, quantity=10)
    assert Trade.objects.count() == 1


def test_a_filled_order_cannot_be_cancelled(partner, other_partner, acme, fund):
    fund(partner, "USD", 1_000_000)
    fund(other_partner, "ACME", 10_000)
    place(other_partner, acme, cid="s1", side="sell", price=1000, quantity=100)
    buy = place(partner, acme, cid="b1", side="buy", price=1000, quantity=100)
    assert buy.status == "filled"
    with pytest.raises(errors.OrderNotCancellable):
        order_cancel(order=buy)
    assert held(buy) == 100_000


def test_an_ioc_remainder_is_cancelled_and_released_at_once(partner, other_partner, acme, fund):
    alpha_usd = fund(partner, "USD", 1_000_000)
    fund(other_partner, "ACME", 10_000)
    place(other_partner, acme, cid="s1", side="sell", price=1000, quantity=40)
    buy = place(partner, acme, cid="b1", side="buy", price=1000, quantity=100, tif="ioc")
    assert (buy.status, buy.filled_quantity) == ("cancelled", 40)
    assert held(buy) == 40_000
    assert balances(alpha_usd).available == 1_000_000 - 40_000
