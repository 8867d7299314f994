"""Shared trading fixtures: the currencies, the ACME/USD instrument, funded partner
accounts, and a matcher that looks alive (for tests that match without it inline)."""

import pytest
from django.utils import timezone

from ledger.assets import currency_assets_sync
from ledger.models import Account, Asset
from ledger.selectors import account_list
from ledger.services import (
    TransferRequest,
    account_open,
    house_account,
    transfer_create,
)
from trading.demo import ISSUANCE_ACCOUNT, demo_instrument_ensure
from trading.models import MatcherState


@pytest.fixture(autouse=True)
def currencies(request):
    """transaction=True tests flush the migration-loaded currencies: put them back."""
    if request.node.get_closest_marker("django_db") or "db" in request.fixturenames:
        request.getfixturevalue("db")
        currency_assets_sync(Asset)


@pytest.fixture
def acme(db):
    """ACME/USD: tick 0.01, lot 1, collar 1.00..1000.00; ACME has scale 0."""
    return demo_instrument_ensure()[0]


def account_funded(partner, asset: str, amount: int) -> Account:
    """The partner's main account in `asset` with `amount` more minor units in it, issued
    by an ordinary transfer from a house account."""
    account = account_list(partner=partner).filter(asset_id=asset, code="main").first()
    account = account or account_open(partner=partner, asset=asset)
    issuer = house_account(code=ISSUANCE_ACCOUNT, asset=asset)
    transfer_create(
        request=TransferRequest(
            debit_account_id=issuer.pk,
            credit_account_id=account.pk,
            amount=amount,
            asset=asset,
            code="deposit",
        )
    )
    return account


@pytest.fixture
def fund():
    return account_funded


@pytest.fixture
def matcher_alive(acme, settings):
    """A matcher process that beat just now (order entry's heartbeat check passes). It
    never beats again, so it counts as alive for an hour: a slow machine placing many
    orders must not see it fall silent mid-test."""
    settings.TRADING_MATCHER_SILENT_SECONDS = 3600
    return MatcherState.objects.create(instrument=acme, heartbeat_at=timezone.now())
