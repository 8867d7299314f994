"""`seed_demo` lists ACME/USD and GLOBEX/USD and gives alpha and beta 10,000 of each,
issued by ordinary transfers, exactly once; the demo partners can then trade."""

from io import StringIO

import pytest
from django.core.management import call_command

from ledger.models import Account, Transfer
from ledger.services import house_account
from trading.demo import DEMO_HOLDING, ISSUANCE_ACCOUNT, demo_issuance_id
from trading.models import Instrument
from trading.services.orders import order_place


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded(db, settings):
    settings.DEMO_PASSWORD = "demo-password-for-tests"
    _seed()
    _seed()


def test_seed_demo_lists_the_instruments_and_funds_each_holding_once(seeded):
    instruments = {i.symbol: i for i in Instrument.objects.all()}
    assert set(instruments) == {"ACME/USD", "GLOBEX/USD"}
    for instrument in instruments.values():
        assert (instrument.tick_size, instrument.lot_size, instrument.status) == (1, 1, "trading")
        assert (instrument.collar_low, instrument.collar_high) == (100, 100_000)
        assert instrument.base_asset.scale == 0 and instrument.quote_asset_id == "USD"
    for code in ("ACME", "GLOBEX"):
        holdings = Account.objects.filter(asset_id=code, partner__slug__in=["alpha", "beta"])
        assert sorted(a.posted_balance for a in holdings) == [DEMO_HOLDING, DEMO_HOLDING]
        issued = Transfer.objects.filter(asset_id=code, code="issuance")
        assert set(issued.values_list("pk", flat=True)) == {
            demo_issuance_id(partner_slug=slug, asset=code) for slug in ("alpha", "beta")
        }
        issuer = house_account(code=ISSUANCE_ACCOUNT, asset=code)
        assert issuer.posted_balance == -2 * DEMO_HOLDING


def test_the_demo_partners_can_trade_at_once(seeded, settings):
    settings.TRADING_MATCH_INLINE = True
    from core.models import Partner

    alpha, beta = Partner.objects.get(slug="alpha"), Partner.objects.get(slug="beta")
    acme = Instrument.objects.get(symbol="ACME/USD")
    common = {"instrument": acme, "type": "limit", "time_in_force": "gtc", "price": 1000}
    order_place(partner=alpha, client_order_id="b", side="buy", quantity=100, **common)
    sold = order_place(partner=beta, client_order_id="s", side="sell", quantity=100, **common)
    assert sold.order.status == "filled"
