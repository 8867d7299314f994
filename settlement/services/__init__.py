"""Settlement's write side, by sub-domain: windows (batches opening and closing, the batch
of new trades), clearing (netting into obligations), posting (obligations and hold releases
into the ledger), runs (the close -> clear -> settle -> reconcile chain, exactly once per
step) and reconciliation (statements, matching, breaks). Import from the sub-modules."""
