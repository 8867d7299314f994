"""What risk needs from apps it must not import (trading asks risk, so risk cannot ask
trading back): each registers when it is ready.

    from risk.hooks import held_subjects, reference_prices
    held_subjects.register(subject="order", approve=..., reject=...)
    reference_prices.register(last_trade_price)
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class HeldHandlers:
    approve: Callable  # (subject_id, acting_user) -> None: let it go on
    reject: Callable  # (subject_id, acting_user, reason) -> None: release what it held


class _HeldSubjects:
    def __init__(self):
        self._handlers: dict[str, HeldHandlers] = {}

    def register(self, *, subject: str, approve: Callable, reject: Callable) -> None:
        self._handlers[subject] = HeldHandlers(approve=approve, reject=reject)

    def of(self, subject: str) -> HeldHandlers:
        return self._handlers[subject]


class _ReferencePrices:
    """The last trade price of an instrument (by symbol), or None."""

    def __init__(self):
        self._lookup: Callable[[str], int | None] = lambda symbol: None

    def register(self, lookup: Callable[[str], int | None]) -> None:
        self._lookup = lookup

    def last_trade(self, symbol: str) -> int | None:
        return self._lookup(symbol)


class _TradeFeed:
    """Trades for post-trade scoring, as dicts of primitives: `since(executed_at, trade_id,
    limit)` the next ones in (executed_at, id) order; `volume_today(partner_id, asset,
    since, until)` a partner's traded notional in that quote asset between the two."""

    def __init__(self):
        self.since: Callable = lambda executed_at, trade_id, limit: []
        self.volume_today: Callable = lambda partner_id, asset, since, until: 0

    def register(self, *, since: Callable, volume_today: Callable) -> None:
        self.since, self.volume_today = since, volume_today


held_subjects = _HeldSubjects()
trade_feed = _TradeFeed()
reference_prices = _ReferencePrices()
