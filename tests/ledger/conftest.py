import pytest

from core.services import partner_create
from ledger.assets import currency_assets_sync
from ledger.models import Account, Asset
from ledger.services import (
    TransferRequest,
    account_open,
    house_accounts_ensure,
    ledger_apply,
    transfer_create,
)


@pytest.fixture(autouse=True)
def currencies(request):
    """The ISO 4217 assets. A data migration loads them, but transaction=True tests flush
    every table afterwards, so they are put back for each test that touches the database."""
    if request.node.get_closest_marker("django_db") or "db" in request.fixturenames:
        request.getfixturevalue("db")
        currency_assets_sync(Asset)


@pytest.fixture
def house_usd(db):
    return house_accounts_ensure(asset="USD")


@pytest.fixture
def fund(house_usd):
    """fund(account, minor_units): a deposit from the house bank account."""

    def _fund(account: Account, amount: int):
        bank = house_accounts_ensure(asset=account.asset_id)["settlement_bank"]
        return transfer_create(
            request=TransferRequest(
                debit_account_id=bank.pk,
                credit_account_id=account.pk,
                amount=amount,
                asset=account.asset_id,
                code="deposit",
            )
        )

    return _fund


@pytest.fixture
def alpha_usd(partner):
    return account_open(partner=partner, asset="USD")


@pytest.fixture
def beta_usd(other_partner):
    return account_open(partner=other_partner, asset="USD")


@pytest.fixture
def make_partner_account(db):
    counter = iter(range(10_000))

    def _make(asset="USD", partner=None):
        partner = partner or partner_create(slug=f"p{next(counter)}", name="Partner")
        return account_open(partner=partner, asset=asset)

    return _make


def origin_hold(debit, credit, amount, *, ref="order-1", origin="order", **fields):
    """A hold placed through ledger_apply by `origin` (an order's, unless told) for its id
    `ref`; `fields` are more of the TransferRequest's."""
    request = TransferRequest(
        debit_account_id=debit.pk,
        credit_account_id=credit.pk,
        amount=amount,
        asset=debit.asset_id,
        pending=True,
        origin_ref=ref,
        **fields,
    )
    return ledger_apply(origin=origin, transfers=[request]).transfers[0].transfer
