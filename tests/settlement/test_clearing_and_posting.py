"""Clearing nets a closed batch's trades into obligations that balance; settlement posts
them and releases exactly what the fills consumed, once, whatever is run again."""

import pytest

from ledger.integrity import ledger_check_run
from ledger.models import LedgerCheckRun
from ledger.selectors import account_balance, account_list, hold_current, transfers_in_batch
from ledger.services import account_freeze, account_unfreeze
from settlement.errors import ClearingMismatch
from settlement.models import Obligation
from settlement.services import clearing
from settlement.services.clearing import batch_clear
from settlement.services.posting import batch_settle
from settlement.services.windows import batch_close, batch_open_ensure
from tests.settlement.conftest import place
from trading.selectors import position_list
from trading.services.orders import order_cancel

pytestmark = pytest.mark.django_db


@pytest.fixture
def day(partner, other_partner, acme, fund):
    """alpha buys 10 ACME at 10.00 and gets 7 (4 + 3) from beta; 3 stay open."""
    alpha_usd = fund(partner, "USD", 1_000_000)
    beta_acme = fund(other_partner, "ACME", 100)
    buy = place(partner, acme, cid="b1", side="buy", price=1000, quantity=10)
    place(other_partner, acme, cid="s1", side="sell", price=1000, quantity=4)
    place(other_partner, acme, cid="s2", side="sell", price=950, quantity=3)
    batch = batch_close(batch=batch_open_ensure(), via="test")
    return batch, buy, alpha_usd, beta_acme


def posted(partner, asset):
    account = account_list(partner=partner).get(asset_id=asset, code="main")
    return account_balance(account=account).posted


def nets(batch):
    return {
        (o.partner.slug, o.asset_id): o.net_amount
        for o in Obligation.objects.filter(batch=batch).select_related("partner")
    }


def test_clearing_nets_each_partners_trades_per_asset_and_balances(day):
    batch = batch_clear(batch=day[0], via="test")
    assert batch.state == "cleared" and batch.trade_count == 2
    assert nets(batch) == {
        ("alpha", "ACME"): 7,
        ("alpha", "USD"): -7_000,
        ("beta", "ACME"): -7,
        ("beta", "USD"): 7_000,
    }
    assert [e.to_state for e in batch.events.order_by("id")] == ["closed", "cleared"]
    assert batch_clear(batch=batch, via="again").state == "cleared"  # twice: the same
    assert Obligation.objects.filter(batch=batch).count() == 4


def test_a_clearing_that_does_not_balance_fails_the_batch_loudly_and_keeps_nothing(
    day, monkeypatch
):
    broken = clearing.obligations_sql
    sellers_cash_leg = "ELSE p.notional END"
    monkeypatch.setattr(
        clearing, "obligations_sql", lambda: broken().replace(sellers_cash_leg, "ELSE 0 END")
    )
    with pytest.raises(ClearingMismatch):
        batch_clear(batch=day[0], via="test")
    batch = day[0]
    batch.refresh_from_db()
    assert (batch.state, batch.failed_step) == ("failed", "clear")
    assert batch.events.last().details["unbalanced"] == {"USD": -7_000}
    assert not Obligation.objects.filter(batch=batch).exists()

    monkeypatch.setattr(clearing, "obligations_sql", broken)
    assert batch_clear(batch=batch, via="retry").state == "cleared"


def test_settlement_moves_the_money_and_releases_exactly_what_the_fills_consumed(
    day, partner, other_partner
):
    batch, buy, _, beta_acme = day
    batch_clear(batch=batch, via="test")
    batch = batch_settle(batch=batch, via="test")

    assert batch.state == "settled"
    assert (posted(partner, "USD"), posted(partner, "ACME")) == (993_000, 7)
    assert (posted(other_partner, "USD"), posted(other_partner, "ACME")) == (7_000, 93)
    hold = hold_current(hold_id=buy.hold_id)
    assert (hold.status, hold.amount) == ("pending", 3_000)  # the unfilled 3 at 10.00
    buy.refresh_from_db()
    assert buy.hold_id == hold.pk  # trading's pointer follows the shrink
    assert account_balance(account=beta_acme).pending == 0  # both sells consumed all they held
    assert set(Obligation.objects.filter(batch=batch).values_list("status", flat=True)) == {
        "posted"
    }
    assert transfers_in_batch(batch_id=batch.pk).count() == 4
    assert ledger_check_run(kind=LedgerCheckRun.Kind.INVARIANTS).ok
    (alpha_position,) = position_list(partner=partner)
    assert (alpha_position.settled, alpha_position.unsettled_bought) == (7, 0)
    assert alpha_position.cash_held == 3_000

    again = batch_settle(batch=batch, via="again")  # twice: nothing moves
    assert again.state == "settled" and transfers_in_batch(batch_id=batch.pk).count() == 4
    assert posted(partner, "USD") == 993_000

    order_cancel(order=buy)  # trading releases the rest, knowing what settlement took
    assert account_balance(account=account_list(partner=partner).get(asset_id="USD")).pending == 0
    assert ledger_check_run(kind=LedgerCheckRun.Kind.INVARIANTS).ok


@pytest.mark.parametrize(
    ("frozen_side", "asset", "receives"), [("alpha", "USD", "USD"), ("beta", "ACME", "ACME")]
)
def test_an_obligation_the_ledger_refuses_is_a_failed_obligation_then_retried_once(
    day, partner, other_partner, admin_user, frozen_side, asset, receives
):
    # Either partner frozen: whichever the settlement meets first, only it fails, and the
    # other one's postings (to an account opened for it: it never held that asset) stand.
    batch, _, _, _ = day
    batch_clear(batch=batch, via="test")
    at_fault, other = (partner, other_partner)
    if frozen_side == "beta":
        at_fault, other = other, at_fault
    before = posted(at_fault, asset)
    frozen = account_list(partner=at_fault).get(asset_id=asset, code="main")
    account_freeze(account=frozen, acting_user=admin_user, reason="test")

    batch = batch_settle(batch=batch, via="test")
    assert (batch.state, batch.failed_step) == ("failed", "settle")
    mine = Obligation.objects.filter(batch=batch, partner=at_fault)
    assert set(mine.values_list("status", "error_code")) == {("failed", "account_frozen")}
    assert set(
        Obligation.objects.filter(batch=batch, partner=other).values_list("status", flat=True)
    ) == {"posted"}
    assert posted(at_fault, asset) == before  # nothing of the partner at fault moved
    assert posted(other, receives) == (7_000 if receives == "USD" else 7)  # what it got

    account_unfreeze(account=frozen, acting_user=admin_user, reason="test")
    batch = batch_settle(batch=batch, via="retry")
    assert batch.state == "settled"
    assert (posted(partner, "USD"), posted(other_partner, "ACME")) == (993_000, 93)
    assert transfers_in_batch(batch_id=batch.pk).count() == 4
    assert [e.to_state for e in batch.events.order_by("id")] == [
        "closed",
        "cleared",
        "failed",
        "cleared",
        "settled",
    ]
    assert ledger_check_run(kind=LedgerCheckRun.Kind.INVARIANTS).ok
