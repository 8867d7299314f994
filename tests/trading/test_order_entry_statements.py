"""Order entry's transaction, statement by statement on PostgreSQL: no savepoint (its hold
has no client ids, so the ledger has nothing to retry), the sequence and the order in one
statement, and still all or nothing, lapsed holds on the account included."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ledger.errors import InsufficientFunds
from ledger.models import Transfer
from ledger.selectors import account_balance
from ledger.services import TransferRequest, house_accounts_ensure, transfer_create
from tests.trading.matcher_support import place
from trading.models import Instrument, Order

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _separate_matcher(settings, matcher_alive):
    settings.TRADING_MATCH_INLINE = False


@pytest.mark.django_db(transaction=True)  # real commits, as a request has them
def test_an_order_is_held_sequenced_and_inserted_without_a_savepoint(partner, acme, fund):
    fund(partner, "USD", 500_000)
    place(partner, acme, "warm", "buy", 10)  # opens the clearing account: ids are kept from here on
    with CaptureQueriesContext(connection) as captured:
        order = place(partner, acme, "c1", "buy", 10)
    statements = [q["sql"].split()[0].upper() for q in captured.captured_queries]
    assert not any(s in ("SAVEPOINT", "RELEASE") for s in statements), statements
    assert statements.count("WITH") == 2  # the ledger's write; the sequence with the order
    # No account lookups (their ids are kept); one INSERT is risk's record of its decision.
    decision_inserts = [
        q for q in captured.captured_queries if 'INSERT INTO "risk_decision"' in q["sql"]
    ]
    assert len(decision_inserts) == 1
    assert len(statements) == 8, statements
    order.refresh_from_db()
    acme.refresh_from_db()
    assert (order.status, order.sequence) == ("accepted", acme.last_sequence)
    hold = Transfer.objects.get(pk=order.hold_id)
    assert (hold.status, hold.amount, hold.origin_ref) == ("pending", 10_000, str(order.pk))


def test_a_refused_order_leaves_no_hold_no_order_and_no_sequence(partner, acme, fund):
    account = fund(partner, "USD", 5_000)
    before = Instrument.objects.get(pk=acme.pk).last_sequence
    with pytest.raises(InsufficientFunds):
        place(partner, acme, "too-big", "buy", 10)
    assert not Order.objects.exists()
    assert not Transfer.objects.filter(origin="order").exists()
    assert Instrument.objects.get(pk=acme.pk).last_sequence == before
    account.refresh_from_db()
    assert account_balance(account=account).available == 5_000


def test_money_in_a_lapsed_hold_funds_an_order_before_the_expiry_job(partner, acme, fund):
    """The ledger's second try (expire the lapsed hold, apply again) still works when the
    first ran in order entry's transaction without a savepoint."""
    account = fund(partner, "USD", 10_000)
    bank = house_accounts_ensure(asset="USD")["settlement_bank"]
    lapsed = transfer_create(
        partner=partner,
        request=TransferRequest(
            debit_account_id=account.pk,
            credit_account_id=bank.pk,
            amount=10_000,
            asset="USD",
            code="withdrawal",
            pending=True,
            timeout_seconds=60,
        ),
    )
    Transfer.objects.filter(pk=lapsed.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    order = place(partner, acme, "c1", "buy", 10)  # 10 x 10.00 = all of it
    assert Transfer.objects.get(pk=lapsed.pk).status == "expired"
    assert Transfer.objects.get(pk=order.hold_id).status == "pending"
    account.refresh_from_db()
    assert account_balance(account=account).available == 0
