# The ledger's fixtures (assets present, funding from the house bank) serve contract tests too.
from tests.ledger.conftest import (  # noqa: F401
    alpha_usd,
    beta_usd,
    currencies,
    fund,
    house_usd,
)
