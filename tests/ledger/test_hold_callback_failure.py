"""A callback that raises on one hold event does not keep the other events of the same
commit from their origin: the failure is logged and only that event waits for the sweep."""

import pytest

from ledger.hooks import hold_changed
from ledger.models import HoldEvent, Transfer
from ledger.services import HoldOperation, TransferRequest, ledger_apply

ORDER = Transfer.Origin.ORDER


@pytest.mark.django_db(transaction=True)
def test_one_failing_event_leaves_the_others_of_its_commit_delivered(alpha_usd, beta_usd, fund):
    fund(alpha_usd, 10_000)
    holds = [
        ledger_apply(
            origin=ORDER,
            transfers=[
                TransferRequest(
                    debit_account_id=alpha_usd.pk,
                    credit_account_id=beta_usd.pk,
                    amount=100,
                    asset="USD",
                    pending=True,
                    origin_ref=ref,
                )
            ],
        )
        .transfers[0]
        .transfer
        for ref in ("first", "second")
    ]
    seen = []

    def fails_on_first(change):
        if change.origin_ref == "first":
            raise RuntimeError("trading was down")
        seen.append(change.origin_ref)

    hold_changed.register(origin=ORDER, callback=fails_on_first)
    try:
        ledger_apply(
            origin=ORDER,
            hold_operations=[
                HoldOperation(pending_id=hold.pk, action=HoldOperation.VOID) for hold in holds
            ],
        )
    finally:
        hold_changed.unregister(origin=ORDER, callback=fails_on_first)
    assert seen == ["second"]
    delivered = dict(HoldEvent.objects.values_list("origin_ref", "delivered_at"))
    assert delivered["first"] is None and delivered["second"] is not None
