"""`seed_demo` gives alpha and beta a funded USD, EUR and CNY account, exactly once."""

from io import StringIO

from django.core.management import call_command

from ledger.demo import DEMO_ASSETS, demo_deposit_id
from ledger.models import Account, Transfer
from ledger.services import house_accounts_ensure


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_funds_each_partner_account_once_however_often_it_runs(db, settings):
    settings.DEMO_PASSWORD = "demo-password-for-tests"

    first = _seed()
    second = _seed()

    # Trading's demo adds the instruments' holdings (tests/trading/test_orders_demo.py).
    accounts = Account.objects.filter(
        partner__slug__in=["alpha", "beta"], asset__in=DEMO_ASSETS
    ).select_related("partner")
    assert sorted((a.partner.slug, a.asset_id, a.code) for a in accounts) == sorted(
        (slug, asset, "main") for slug in ("alpha", "beta") for asset in DEMO_ASSETS
    )
    assert all(a.posted_balance == 100_000_000 for a in accounts)
    deposits = Transfer.objects.filter(code="deposit", credit_account__in=accounts)
    assert deposits.count() == 6
    assert set(deposits.values_list("pk", flat=True)) == {
        demo_deposit_id(partner_slug=slug, asset=asset)
        for slug in ("alpha", "beta")
        for asset in DEMO_ASSETS
    }
    for asset in DEMO_ASSETS:  # the money came from the house bank account
        bank = house_accounts_ensure(asset=asset)["settlement_bank"]
        assert bank.posted_balance == 200_000_000
    assert "deposited 1000000.00" in first
    assert "deposited" not in second and "already funded" in second
