# The ledger's fixtures (assets present, funding from the house bank) serve end-to-end tests too.
from tests.ledger.conftest import currencies, fund, house_usd  # noqa: F401
