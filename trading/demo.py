"""Demo data: ACME/USD and GLOBEX/USD (tick 0.01, lot 1, collar 1.00..1000.00), and alpha
and beta each holding 10,000 of each instrument's asset in a `main` account, issued from
the house `trading_issuance` account by ordinary transfers.

Idempotent: each issuance has a fixed transfer id, so the ledger applies it at most once.
"""

import uuid

from core.demo import register_demo_seeder
from core.models import Partner
from ledger.models import Account
from ledger.selectors import account_list
from ledger.services import (
    TransferRequest,
    account_open,
    asset_ensure,
    house_account,
    house_account_declare,
    transfer_create,
)
from trading.models import Instrument
from trading.services.instruments import instrument_create

DEMO_PARTNERS = ("alpha", "beta")
DEMO_QUOTE = "USD"
DEMO_INSTRUMENTS = (("ACME", "Acme Corporation"), ("GLOBEX", "Globex Corporation"))
DEMO_HOLDING = 10_000  # shares: scale 0
ISSUANCE_ACCOUNT = "trading_issuance"
DEMO_NAMESPACE = uuid.UUID("0b8f9a52-6c3e-4f1d-8e27-5a9c4d3b2e10")

house_account_declare(
    code=ISSUANCE_ACCOUNT,
    kind=Account.Kind.EQUITY,
    description="Where demo instrument holdings are issued from",
)


def demo_issuance_id(*, partner_slug: str, asset: str) -> uuid.UUID:
    return uuid.uuid5(DEMO_NAMESPACE, f"trading-demo-issuance:{partner_slug}:{asset}")


def demo_instrument_ensure(
    *, code: str = "ACME", name: str = "", acting_user=None
) -> tuple[Instrument, bool]:
    """`code`/USD as the demo lists it (its asset at scale 0, tick 0.01, lot 1, collar
    1.00..1000.00), listed if missing: (the instrument, whether it was listed now). The
    demo, the tests and the benchmarks trade on the same instrument."""
    asset_ensure(code=code, name=name or code, scale=0)
    symbol = f"{code}/{DEMO_QUOTE}"
    existing = Instrument.objects.filter(symbol=symbol).first()
    if existing is not None:
        return existing, False
    listed = instrument_create(
        symbol=symbol,
        base_asset=code,
        quote_asset=DEMO_QUOTE,
        tick_size=1,
        lot_size=1,
        collar_low=100,
        collar_high=100_000,
        acting_user=acting_user,
    )
    return listed, True


@register_demo_seeder("trading")
def seed(*, acting_user, stdout) -> None:
    partners = Partner.objects.in_bulk(DEMO_PARTNERS, field_name="slug")
    for code, name in DEMO_INSTRUMENTS:
        instrument, listed = demo_instrument_ensure(code=code, name=name, acting_user=acting_user)
        asset, symbol = instrument.base_asset, instrument.symbol
        if listed:
            stdout.write(f"  trading: {symbol} listed")
        # The issuer's account may go negative: it is where the shares come from.
        issuer = house_account(code=ISSUANCE_ACCOUNT, asset=asset, acting_user=acting_user)
        for slug in DEMO_PARTNERS:
            partner = partners.get(slug)
            if partner is None:
                stdout.write(f"  trading: no partner {slug!r}, skipped")
                continue
            account = account_list(partner=partner).filter(asset=asset, code="main").first()
            if account is None:
                account = account_open(
                    partner=partner, asset=asset, code="main", acting_user=acting_user
                )
            transfer_create(
                request=TransferRequest(
                    id=demo_issuance_id(partner_slug=slug, asset=code),
                    debit_account_id=issuer.pk,
                    credit_account_id=account.pk,
                    amount=DEMO_HOLDING,
                    asset=code,
                    code="issuance",
                    reference="demo holding",
                ),
                acting_user=acting_user,
            )
            stdout.write(f"  trading: {slug} {code} main holds {DEMO_HOLDING}")
