"""What the matcher tests share: a random order stream, placing it as accepted orders
(through order_place, with inline matching off), the same stream through the engine in
memory (the expected result), and reading back what the matcher committed."""

import random
from dataclasses import dataclass

from django.db.models import Sum

from core.services import partner_create
from ledger.integrity import ledger_invariants_violations
from ledger.selectors import holds_by_origin
from tests.trading.conftest import account_funded
from trading.engine import BUY, FOK, GTC, IOC, LIMIT, MARKET, SELL, Book, Cancelled, Fill, NewOrder
from trading.engine import Trade as EngineTrade
from trading.models import Order, Trade
from trading.services.orders import order_place


def place(
    partner, instrument, cid, side, quantity, price=1000, *, type="limit", time_in_force="gtc"
):
    """One order through order_place (a limit GTC unless told); the order placed."""
    return order_place(
        partner=partner,
        instrument=instrument,
        client_order_id=cid,
        side=side,
        type=type,
        time_in_force=time_in_force,
        price=price,
        quantity=quantity,
    ).order


@dataclass(frozen=True)
class Spec:
    """One order of a stream; price in quote minor units (tick 1), None for market."""

    partner: int  # index into the stream's partners
    side: str
    quantity: int
    price: int | None
    type: str = LIMIT
    time_in_force: str = GTC


def order_stream(count: int, *, seed: int, partners: int = 3) -> list[Spec]:
    """Limit GTC around 10.00 (a third or so crossing), some IOC, FOK and market orders."""
    rng = random.Random(seed)
    stream = []
    for _ in range(count):
        side = rng.choice((BUY, SELL))
        quantity = rng.randint(1, 40)
        kind = rng.random()
        owner = rng.randrange(partners)
        if kind < 0.07:
            stream.append(Spec(owner, side, quantity, None, MARKET, IOC))
            continue
        tif = IOC if kind < 0.15 else FOK if kind < 0.2 else GTC
        middle = 1000 + (3 if side == BUY else -3)  # the sides overlap a little
        stream.append(Spec(owner, side, quantity, middle + rng.randint(-12, 12), LIMIT, tif))
    return stream


def trading_partners(count: int = 3):
    """Partners with plenty of USD and ACME in their main accounts."""
    partners = []
    for index in range(count):
        partner = partner_create(slug=f"trader{index}", name=f"Trader {index}")
        account_funded(partner, "USD", 10**12)
        account_funded(partner, "ACME", 10**9)
        partners.append(partner)
    return partners


def stream_place(stream: list[Spec], *, partners, instrument, prefix: str = "o") -> list[Order]:
    """Each spec as an accepted order, in stream order (sequence 1, 2, 3...)."""
    return [
        order_place(
            partner=partners[spec.partner],
            instrument=instrument,
            client_order_id=f"{prefix}{index}",
            side=spec.side,
            type=spec.type,
            time_in_force=spec.time_in_force,
            price=spec.price,
            quantity=spec.quantity,
        ).order
        for index, spec in enumerate(stream)
    ]


@dataclass
class Expected:
    trades: list[tuple]  # (sequence, buy order sequence, sell order sequence, price, quantity)
    filled: dict[int, int]  # order sequence -> filled quantity
    status: dict[int, str]  # order sequence -> status


def engine_replay(stream: list[Spec], *, collar_high: int, first_sequence: int = 1) -> Expected:
    """The stream through the engine alone, in memory: what the matcher must commit."""
    book = Book()
    expected = Expected([], {}, {})
    for offset, spec in enumerate(stream):
        sequence = first_sequence + offset
        if spec.type == MARKET:
            budget = collar_high * spec.quantity if spec.side == BUY else None
            order = NewOrder.market(
                sequence, spec.partner, spec.side, spec.quantity, spec.time_in_force, budget
            )
        else:
            order = NewOrder.limit(
                sequence, spec.partner, spec.side, spec.quantity, spec.price, spec.time_in_force
            )
        expected.filled[sequence] = 0
        expected.status[sequence] = "accepted"
        cancelled = False
        for event in book.submit(order):
            if isinstance(event, EngineTrade):
                expected.trades.append(
                    (
                        event.seq,
                        event.buy_order_id,
                        event.sell_order_id,
                        event.price_ticks,
                        event.quantity,
                    )
                )
            elif isinstance(event, Fill):
                expected.filled[event.order_id] += event.quantity
                if event.order_id != sequence:
                    done = event.remaining == 0
                    expected.status[event.order_id] = "filled" if done else "partially_filled"
            elif isinstance(event, Cancelled):
                cancelled = True
        filled = expected.filled[sequence]
        if filled == spec.quantity:
            expected.status[sequence] = "filled"
        elif cancelled:
            expected.status[sequence] = "cancelled"
        elif filled:
            expected.status[sequence] = "partially_filled"
    return expected


def committed(instrument) -> Expected:
    """What the database holds, in the same shape."""
    sequence_of = dict(Order.objects.filter(instrument=instrument).values_list("id", "sequence"))
    trades = [
        (seq, sequence_of[buy], sequence_of[sell], price, quantity)
        for seq, buy, sell, price, quantity in Trade.objects.filter(instrument=instrument)
        .order_by("sequence")
        .values_list("sequence", "buy_order_id", "sell_order_id", "price", "quantity")
    ]
    rows = Order.objects.filter(instrument=instrument).values_list(
        "sequence", "filled_quantity", "status"
    )
    return Expected(
        trades,
        {seq: filled for seq, filled, _ in rows},
        {seq: status for seq, _, status in rows},
    )


def money_problems(instrument) -> list:
    """Ledger invariants, plus every order's open hold = what it still needs: all it
    reserved while it rests untouched, what its fills consumed once it ended."""
    problems = list(ledger_invariants_violations())
    held = {
        hold.origin_ref: hold.amount for hold in holds_by_origin(origin="order", open_only=True)
    }
    for order in Order.objects.filter(instrument=instrument):
        consumed = order.filled_notional if order.side == BUY else order.filled_quantity
        # nothing is released before the order ends; then what its fills consumed stays
        need = order.reserved if order.status in ("accepted", "partially_filled") else consumed
        if held.get(str(order.id), 0) != need:
            problems.append((str(order.id), order.status, held.get(str(order.id)), need))
    notional = Trade.objects.filter(instrument=instrument).aggregate(q=Sum("quantity"))["q"] or 0
    bought = Order.objects.filter(instrument=instrument, side=BUY).aggregate(
        q=Sum("filled_quantity")
    )["q"]
    sold = Order.objects.filter(instrument=instrument, side=SELL).aggregate(
        q=Sum("filled_quantity")
    )["q"]
    if not notional == (bought or 0) == (sold or 0):
        problems.append(("fills", notional, bought, sold))
    return problems


__all__ = ["FOK", "Expected", "Spec"]
