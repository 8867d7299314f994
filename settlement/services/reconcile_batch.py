"""The chain's last step for a batch: what the ledger holds under the batch's id agrees
with the obligations (one posted transfer per non-zero obligation, the same amounts, the
central counterparty netting to zero per asset). A disagreement is logged as an error and
fails the step (the batch stays settled: the money moved; staff look at the step's error)."""

import structlog
from django.db.models import Q

from ledger.models import Transfer
from ledger.selectors import transfers_in_batch
from settlement.models import Obligation, SettlementBatch

logger = structlog.get_logger(__name__)


class BatchLedgerDisagrees(Exception):
    pass


def batch_reconcile(*, batch: SettlementBatch) -> SettlementBatch:
    expected = {
        o.transfer_id: abs(o.net_amount)
        for o in Obligation.objects.filter(batch=batch, status=Obligation.Status.POSTED).filter(
            ~Q(net_amount=0)
        )
    }
    postings = dict(
        transfers_in_batch(batch_id=batch.pk)
        .filter(kind=Transfer.Kind.SINGLE_PHASE)
        .values_list("pk", "amount")
    )
    unposted = Obligation.objects.filter(batch=batch).exclude(status=Obligation.Status.POSTED)
    if postings != expected or unposted.exists():
        missing = [str(t) for t in expected if t not in postings]
        extra = [str(t) for t in postings if t not in expected]
        logger.error("settlement_batch_ledger_disagrees", batch=str(batch.pk), missing=missing)
        raise BatchLedgerDisagrees(
            f"ledger and obligations disagree: missing {missing[:5]}, extra {extra[:5]}, "
            f"{unposted.count()} unposted"
        )
    return batch
