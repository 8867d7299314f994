import pytest

# The ledger's fixtures (assets present, funding from the house bank) serve contract tests too.
from tests.ledger.conftest import (  # noqa: F401
    alpha_usd,
    beta_usd,
    currencies,
    fund,
    house_usd,
)


@pytest.fixture
def alpha_resources(partner, alpha_usd, fund):  # noqa: F811 - fixtures imported above
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
    return {"account_id": alpha_usd.pk, "transfer_id": pending.pk}
