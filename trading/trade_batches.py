"""Settlement batches as trading sees them, answered by settlement (registered when it is
ready): trading does not import settlement, settlement reads trading.

- the batch a new trade belongs to, asked in the transaction that writes it; the answer
  holds until that transaction commits (settlement.services.windows: a close waits for
  every trade already stamped with its batch, so a trade lands in exactly one batch);
- the batches not settled yet (their trades are "unsettled" in a partner's position).

Without settlement installed, trades carry no batch and every trade is unsettled.
"""

import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass


@dataclass(frozen=True)
class TradeBatches:
    for_new_trades: Callable[[], uuid.UUID]
    unsettled: Callable[[], Collection[uuid.UUID]]


_provider: TradeBatches | None = None


def trade_batches_provider_set(provider: TradeBatches | None) -> None:
    global _provider
    _provider = provider


def trade_batch_for_new_trades() -> uuid.UUID | None:
    """The batch new trades are stamped with (inside the caller's transaction)."""
    return _provider.for_new_trades() if _provider is not None else None


def trade_batches_unsettled() -> Collection[uuid.UUID]:
    """Ids of the batches whose trades have not settled yet."""
    return _provider.unsettled() if _provider is not None else ()
