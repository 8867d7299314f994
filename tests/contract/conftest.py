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
    from ledger.services import asset_ensure
    from trading.services.instruments import instrument_create
    from trading.services.orders import order_place

    settings.TRADING_MATCH_INLINE = True  # the embedded default: no matcher process needed
    asset_ensure(code="ACME", name="Acme", scale=0)
    acme = instrument_create(
        symbol="ACME/USD",
        base_asset="ACME",
        quote_asset="USD",
        tick_size=1,
        lot_size=1,
        collar_low=100,
        collar_high=100_000,
    )
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
    return {
        "account_id": alpha_usd.pk,
        "transfer_id": pending.pk,
        "order_id": order.pk,
        "symbol": acme.symbol.replace("/", "-"),
    }
