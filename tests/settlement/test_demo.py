"""seed_demo gives settlement's screens something to work on: trades in today's open batch
(one order left partly filled, still holding its rest) and a bank statement with a match
and a bank-only break; run again, it adds nothing; and the day settles cleanly."""

from io import StringIO

import pytest
from django.core.management import call_command

from ledger.integrity import ledger_check_run
from ledger.models import LedgerCheckRun
from settlement.models import BankStatement, Break, Obligation, SettlementBatch
from trading.models import Order, Trade

pytestmark = pytest.mark.django_db


def _seed(settings, *, inline: bool = True) -> str:
    settings.DEMO_PASSWORD = "demo-password-123"
    settings.TRADING_MATCH_INLINE = inline
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


# A newcomer may seed in the evening: trades after the cutoff go to the next day's batch,
# and run_settlement with no date settles them all the same.
@pytest.mark.parametrize("hour", [10, 19], ids=["before the cutoff", "after the cutoff"])
def test_the_demo_has_trades_to_settle_and_a_statement_with_a_break(settings, business_time, hour):
    business_time(hour)
    _seed(settings)
    output = _seed(settings)

    assert Trade.objects.count() == 2
    batch = SettlementBatch.objects.get(state="open")
    assert set(Trade.objects.values_list("settlement_batch_id", flat=True)) == {batch.pk}
    rest = Order.objects.get(client_order_id="demo-globex-sell-1")
    assert (rest.status, rest.filled_quantity, rest.quantity) == ("partially_filled", 30, 50)
    statement = BankStatement.objects.get()
    assert (statement.line_count, statement.matched_count) == (3, 2)
    fee = Break.objects.get()
    assert (fee.kind, fee.status, fee.amount) == ("bank_only", "open", -2500)
    assert "already imported" in output and "exists, filled" in output

    call_command("run_settlement", stdout=StringIO(), stderr=StringIO())
    batch.refresh_from_db()
    assert batch.state == "settled"
    nets = {}
    for asset, amount in Obligation.objects.filter(batch=batch).values_list(
        "asset_id", "net_amount"
    ):
        nets[asset] = nets.get(asset, 0) + amount
    assert nets == {"ACME": 0, "GLOBEX": 0, "USD": 0}
    assert ledger_check_run(kind=LedgerCheckRun.Kind.INVARIANTS).ok


def test_without_a_running_matcher_it_places_no_orders_and_says_why(settings):
    output = _seed(settings, inline=False)

    assert not Order.objects.exists()
    assert "no matcher running" in output
    assert BankStatement.objects.count() == 1  # the statement needs no matcher
