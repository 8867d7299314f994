"""Settlement fixtures: trading's (currencies, ACME/USD, funded accounts), and trades
between alpha and beta made through order entry with inline matching."""

import pytest

from tests.trading.conftest import account_funded, acme, currencies, fund  # noqa: F401
from trading.services.orders import order_place


@pytest.fixture(autouse=True)
def _inline(settings):
    settings.TRADING_MATCH_INLINE = True


def place(partner, instrument, *, cid, side, price, quantity):
    return order_place(
        partner=partner,
        instrument=instrument,
        client_order_id=cid,
        side=side,
        type="limit",
        time_in_force="gtc",
        price=price,
        quantity=quantity,
    ).order
