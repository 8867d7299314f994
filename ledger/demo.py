"""Demo data: alpha and beta each get a USD, EUR and CNY account holding 1,000,000.00,
deposited from the house settlement bank account by ordinary transfers.

Idempotent: each deposit has a fixed transfer id, so the ledger applies it at most once.
"""

import uuid

from core.demo import register_demo_seeder
from core.models import Partner
from core.money import to_minor_units
from ledger.models import Account, Asset, Transfer
from ledger.services import TransferRequest, account_open, house_accounts_ensure, transfer_create

DEMO_PARTNERS = ("alpha", "beta")
DEMO_ASSETS = ("USD", "EUR", "CNY")
DEMO_DEPOSIT = "1000000.00"
# Fixed, so re-runs derive the same deposit ids (uuid5 of partner and asset).
DEMO_NAMESPACE = uuid.UUID("6f1c2b0e-5d0a-4c52-9a57-3b8e0f7c1d21")


def demo_deposit_id(*, partner_slug: str, asset: str) -> uuid.UUID:
    return uuid.uuid5(DEMO_NAMESPACE, f"ledger-demo-deposit:{partner_slug}:{asset}")


@register_demo_seeder("ledger")
def seed(*, acting_user, stdout) -> None:
    partners = Partner.objects.in_bulk(DEMO_PARTNERS, field_name="slug")
    assets = Asset.objects.in_bulk(DEMO_ASSETS)
    for slug in DEMO_PARTNERS:
        partner = partners.get(slug)
        if partner is None:
            stdout.write(f"  ledger: no partner {slug!r}, skipped")
            continue
        for code in DEMO_ASSETS:
            asset = assets[code]
            account = Account.objects.filter(partner=partner, asset=asset, code="main").first()
            opened = account is None
            if opened:
                account = account_open(
                    partner=partner, asset=asset, code="main", acting_user=acting_user
                )
            bank = house_accounts_ensure(asset=asset, acting_user=acting_user)["settlement_bank"]
            deposit_id = demo_deposit_id(partner_slug=slug, asset=code)
            deposited = not Transfer.objects.filter(pk=deposit_id).exists()
            transfer_create(
                request=TransferRequest(
                    id=deposit_id,
                    debit_account_id=bank.pk,
                    credit_account_id=account.pk,
                    amount=to_minor_units(DEMO_DEPOSIT, scale=asset.scale),
                    asset=asset.code,
                    code="deposit",
                    reference="demo opening deposit",
                ),
                acting_user=acting_user,
            )
            stdout.write(
                f"  ledger: {slug} {code} main "
                f"{'opened' if opened else 'exists'}, "
                f"{'deposited ' + DEMO_DEPOSIT if deposited else 'already funded'}"
            )
