import pytest

# The ledger's fixtures (assets present, funding from the house bank) serve contract tests too.
from tests.ledger.conftest import (  # noqa: F401
    alpha_usd,
    beta_usd,
    currencies,
    fund,
    house_usd,
)

# URL arguments that name something every partner may see (an instrument's symbol), not one
# partner's resource: the tenancy test expects a 200 for another partner there, not a 404.
SHARED_RESOURCES = frozenset({"symbol"})


@pytest.fixture
def alpha_resources(partner, alpha_usd, fund, settings):  # noqa: F811 - fixtures imported above
    """One of alpha's resources for each URL argument a partner endpoint takes. A new
    endpoint naming a new kind of resource needs its entry here, or the URL-driven tests
    (the authorisation matrix, the input checks) fail for it."""
    from ledger.services import TransferRequest, account_open, transfer_create

    fund(alpha_usd, 100_000)
    savings = account_open(partner=partner, asset="USD", code="savings")
    pending = transfer_create(
        request=TransferRequest(
            debit_account_id=alpha_usd.pk,
            credit_account_id=savings.pk,
            amount=1_000,
            asset="USD",
            pending=True,
        ),
        partner=partner,
    )
    from trading.demo import demo_instrument_ensure
    from trading.services.orders import order_place

    settings.TRADING_MATCH_INLINE = True  # the embedded default: no matcher process needed
    acme = demo_instrument_ensure()[0]
    order = order_place(
        partner=partner,
        instrument=acme,
        client_order_id="alpha-resting",
        side="buy",
        type="limit",
        time_in_force="gtc",
        price=1000,
        quantity=1,
    ).order
    batch = _batch_alpha_takes_part_in(partner, acme, fund)
    return {
        "batch_id": batch.pk,
        "account_id": alpha_usd.pk,
        "transfer_id": pending.pk,
        "order_id": order.pk,
        "symbol": acme.symbol.replace("/", "-"),
    }


def _batch_alpha_takes_part_in(partner, acme, fund):  # noqa: F811 - the fixture, passed on
    """A cleared settlement batch with a trade of alpha's: it buys 1 ACME at 10.01 (above its
    resting 10.00 bid, so the resting order stays as it is) from another partner."""
    from core.services import partner_create
    from ledger.services import account_open
    from settlement.services.clearing import batch_clear
    from settlement.services.windows import batch_close, batch_open_ensure
    from trading.services.orders import order_place

    seller = partner_create(slug="contract-seller", name="Contract Seller")
    fund(account_open(partner=seller, asset="ACME"), 10)
    for who, side, cid in ((partner, "buy", "alpha-settling"), (seller, "sell", "seller-1")):
        order_place(
            partner=who,
            instrument=acme,
            client_order_id=cid,
            side=side,
            type="limit",
            time_in_force="gtc",
            price=1001,
            quantity=1,
        )
    return batch_clear(batch=batch_close(batch=batch_open_ensure(), via="test"), via="test")
