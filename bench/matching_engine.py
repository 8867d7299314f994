"""The matching engine alone: orders/s of trading.engine.Book beside lightmatchingengine
(PyPI) on the same stream of random limit orders, median of 3, and the ratio of the two.

    make bench-engine            # installs requirements/bench.txt, then runs this
    .venv/bin/python bench/matching_engine.py [--orders N] [--runs 3] [--seed 1] [--strict]

Inside the timer: one loop handing the prebuilt operations to the engine one by one, on a
fresh book, events returned and dropped (ours: `book.submit(order)` with a NewOrder tuple,
`book.cancel(id)`; lightmatchingengine: `add_order(symbol, price, quantity, side)` and
`cancel_order(id, symbol)` with prebuilt arguments). Outside it: generating the stream,
building the engines, counting crossings, and checking that both engines filled every order
alike and left the same book. See bench/README.md.
"""

import argparse
import gc
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: the project's packages are importable

from trading.engine import BUY, SELL, Book, Fill, NewOrder, Rested, Trade  # noqa: E402

RATE_TARGET = 500_000  # issue 10: the engine alone, orders/s
RATIO_TARGET = 1.6  # issue 10: x lightmatchingengine on the same stream
SYMBOL = "ACME/USD"
START_PRICE = 10_000  # ticks: 100.00 at a 0.01 tick
REFERENCE_BAND = 50  # ticks either side of START_PRICE the reference price walks within


def order_stream(count: int, seed: int, aggressive_share: float) -> list[NewOrder]:
    """Limit GTC orders, ids 1..count, each with its own owner (so self-trade prevention
    never fires, though its check runs on every match, and both engines must trade alike).
    A reference price walks one tick up or down before 10% of the orders, kept within
    START_PRICE +/- REFERENCE_BAND. Each order is a buy or a sell with even odds; with
    probability `aggressive_share` it is priced through the reference (a buy at reference
    + 0..3 ticks, a sell at reference - 0..3), otherwise it joins its own side (reference
    -/+ 1..20 ticks). Quantities 1..100 lots, uniform. Passive orders the walk leaves behind
    cross too, so the share of orders that trade on arrival is measured, not assumed."""
    rng = random.Random(seed)
    reference = START_PRICE
    orders = []
    for order_id in range(1, count + 1):
        if rng.random() < 0.1:
            step = 1 if rng.random() < 0.5 else -1
            if abs(reference + step - START_PRICE) > REFERENCE_BAND:
                step = -step  # reflected: the stream's statistics do not drift with its length
            reference += step
        buying = rng.random() < 0.5
        aggressive = rng.random() < aggressive_share
        offset = -rng.randint(0, 3) if aggressive else rng.randint(1, 20)
        price = reference - offset if buying else reference + offset
        side = BUY if buying else SELL
        orders.append(NewOrder.limit(order_id, order_id, side, rng.randint(1, 100), price))
    return orders


def with_cancels(orders: list[NewOrder], total: int, cancel_share: float, seed: int) -> list:
    """`total` operations: before each order, with probability `cancel_share`, a cancel (an
    int id) of an order picked at random among those resting at that point. Which orders
    rest is found by running the stream through our engine once, untimed; both engines
    fill alike (checked), and lightmatchingengine fails an assertion cancelling an order
    that has filled, so the cancels must name resting orders."""
    rng = random.Random(seed + 1)
    book, resting, position, stream = Book(), [], {}, []

    def forget(order_id):  # swap-remove: O(1) and deterministic
        index = position.pop(order_id)
        last = resting.pop()
        if last != order_id:
            resting[index] = last
            position[last] = index

    for order in orders:
        if len(stream) >= total:
            break
        if resting and rng.random() < cancel_share:
            order_id = resting[rng.randrange(len(resting))]
            book.cancel(order_id)
            forget(order_id)
            stream.append(order_id)
            if len(stream) >= total:
                break
        for event in book.submit(order):
            if type(event) is Rested:
                position[event.order_id] = len(resting)
                resting.append(event.order_id)
            elif type(event) is Fill and not event.remaining and event.order_id in position:
                forget(event.order_id)
        stream.append(order)
    return stream


def time_ours(stream: list) -> tuple[float, float]:
    """(wall seconds, CPU seconds) to run the stream on a fresh book."""
    book = Book()
    submit, cancel = book.submit, book.cancel
    started, cpu_started = time.perf_counter(), time.process_time()
    for operation in stream:
        if type(operation) is NewOrder:
            submit(operation)
        else:
            cancel(operation)
    return time.perf_counter() - started, time.process_time() - cpu_started


def time_lightmatchingengine(arguments: list[tuple]) -> tuple[float, float]:
    from lightmatchingengine.lightmatchingengine import LightMatchingEngine

    engine = LightMatchingEngine()
    add_order, cancel_order = engine.add_order, engine.cancel_order
    started, cpu_started = time.perf_counter(), time.process_time()
    for operation in arguments:
        if len(operation) == 4:
            add_order(*operation)
        else:
            cancel_order(*operation)
    return time.perf_counter() - started, time.process_time() - cpu_started


def lightmatchingengine_arguments(stream: list) -> list[tuple]:
    from lightmatchingengine.lightmatchingengine import Side

    sides = {BUY: Side.BUY, SELL: Side.SELL}
    return [
        (SYMBOL, op.price_ticks, op.quantity, sides[op.side])
        if type(op) is NewOrder
        else (op, SYMBOL)
        for op in stream
    ]


def compare_outcomes(stream: list, arguments: list[tuple]) -> dict:
    """Run both once more, untimed: the share of orders that traded on arrival, and whether
    both engines filled every order by the same quantity and left the same depth."""
    from lightmatchingengine.lightmatchingengine import LightMatchingEngine

    book, ours_filled, orders, crossing, trades = Book(), defaultdict(int), 0, 0, 0
    for operation in stream:
        if type(operation) is not NewOrder:
            book.cancel(operation)
            continue
        orders += 1
        events = book.submit(operation)
        crossing += type(events[0]) is Trade
        for event in events:
            if type(event) is Trade:
                trades += 1
                ours_filled[event.buy_order_id] += event.quantity
                ours_filled[event.sell_order_id] += event.quantity

    engine, theirs_filled = LightMatchingEngine(), defaultdict(int)
    for operation in arguments:
        if len(operation) == 2:
            engine.cancel_order(*operation)
            continue
        _, their_trades = engine.add_order(*operation)
        for trade in their_trades:  # ids are 1..N in both: theirs count from 1 too
            theirs_filled[trade.order_id] += trade.trade_qty
    their_book = engine.order_books[SYMBOL]

    def their_side(levels, descending):
        prices = sorted(levels, reverse=descending)
        return [(p, sum(o.leaves_qty for o in levels[p])) for p in prices if levels[p]]

    depth = book.depth()
    return {
        "orders": orders,
        "cancels": len(stream) - orders,
        "crossing": crossing / orders,
        "trades": trades,
        "resting": len(book),
        "levels": len(depth.bids) + len(depth.asks),
        "same": ours_filled == theirs_filled
        and depth.bids == their_side(their_book.bids, True)
        and depth.asks == their_side(their_book.asks, False),
    }


def measure(name: str, stream: list, runs: int) -> dict:
    """Median rates (wall and CPU) of both engines over `runs` interleaved runs."""
    arguments = lightmatchingengine_arguments(stream)
    gc.collect()
    gc.freeze()  # the prebuilt stream is not garbage: keep the collector off it in both
    ours, theirs = [], []  # (wall, CPU) seconds per run
    count = len(stream)
    print(f"{name}:")
    for run in range(1, runs + 1):  # interleaved, so both see the same machine
        ours.append(time_ours(stream))
        theirs.append(time_lightmatchingengine(arguments))
        print(
            f"  run {run}: engine {count / ours[-1][0]:,.0f}/s (CPU time "
            f"{count / ours[-1][1]:,.0f}/s)  lightmatchingengine {count / theirs[-1][0]:,.0f}/s"
            f" (CPU time {count / theirs[-1][1]:,.0f}/s)"
        )
    outcome = compare_outcomes(stream, arguments)
    gc.unfreeze()
    outcome.update(
        rate=statistics.median(count / wall for wall, _ in ours),
        baseline=statistics.median(count / wall for wall, _ in theirs),
        cpu_rate=statistics.median(count / cpu for _, cpu in ours),
        cpu_baseline=statistics.median(count / cpu for _, cpu in theirs),
    )
    print(
        f"  {outcome['orders']:,} orders and {outcome['cancels']:,} cancels:"
        f" {outcome['crossing']:.1%} of orders traded on arrival, {outcome['trades']:,}"
        f" trades; {outcome['resting']:,} orders on {outcome['levels']} price levels at the end;"
        f" same fills and book in both engines: {'yes' if outcome['same'] else 'NO'}\n"
    )
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--aggressive-share", type=float, default=0.2)
    parser.add_argument("--cancel-share", type=float, default=0.3)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    args = parser.parse_args()
    try:
        import lightmatchingengine  # noqa: F401
    except ImportError:
        sys.exit("needs lightmatchingengine: pip install -r requirements/bench.txt")

    orders = order_stream(args.orders, args.seed, args.aggressive_share)
    results = [("limit orders", measure("limit orders (the target)", orders, args.runs))]
    if args.cancel_share > 0:
        mixed = with_cancels(orders, args.orders, args.cancel_share, args.seed)
        mixed_result = measure("with cancels (a shallower book)", mixed, args.runs)
        results.append(("with cancels", mixed_result))

    print(f"median of {args.runs}, per operation   engine/s  lme/s     ratio   CPU-time ratio")
    for name, r in results:
        print(
            f"{name:28}{r['rate']:>10,.0f}{r['baseline']:>10,.0f}{r['rate'] / r['baseline']:>8.2f}"
            f"{r['cpu_rate'] / r['cpu_baseline']:>10.2f}"
        )
    target = results[0][1]
    rate_ok = target["rate"] >= RATE_TARGET
    ratio_ok = target["rate"] / target["baseline"] >= RATIO_TARGET
    print(
        f"\ntargets (limit orders): >= {RATE_TARGET:,} orders/s {_verdict(rate_ok)}"
        f" (CPU time {target['cpu_rate']:,.0f}/s); >= {RATIO_TARGET} x lightmatchingengine"
        f" {_verdict(ratio_ok)}"
    )
    if not all(r["same"] for _, r in results):
        print("the two engines disagree: the comparison is void")
        return 2
    return 1 if args.strict and not (rate_ok and ratio_ok) else 0


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


if __name__ == "__main__":
    sys.exit(main())
