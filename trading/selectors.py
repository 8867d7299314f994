"""Trading's reads. Partner-scoped ones take `partner` and never show another's rows."""

from dataclasses import dataclass

from django.db.models import Case, CharField, F, Q, QuerySet, Sum, UUIDField, Value, When

from core.prebuilt_sql import row_get
from ledger.models import Transfer
from ledger.selectors import account_balance, account_list, assets_by_code, holds_by_origin
from trading.errors import InstrumentNotFound, OrderNotFound
from trading.models import Instrument, Order, Trade
from trading.services.states import ORDER_OPEN_STATUSES
from trading.trade_batches import trade_batches_unsettled

S = Order.Status
BOOK_STATUSES = (S.ACCEPTED, S.PARTIALLY_FILLED)


def instrument_list() -> QuerySet[Instrument]:
    return Instrument.objects.select_related("base_asset", "quote_asset").order_by("symbol")


def instrument_get(*, symbol: str) -> Instrument:
    """By symbol, "ACME/USD" (or "ACME-USD", as a path segment can carry it). Read fresh
    each time (a halt or a new collar applies at once), by a prebuilt statement: order entry
    reads it on every request. Its assets come from the ledger's in-process asset cache."""
    instrument = row_get(Instrument, symbol=symbol.replace("-", "/"))
    if instrument is None:
        raise InstrumentNotFound(details={"symbol": symbol})
    assets = assets_by_code(codes=[instrument.base_asset_id, instrument.quote_asset_id])
    instrument.base_asset = assets[instrument.base_asset_id]
    instrument.quote_asset = assets[instrument.quote_asset_id]
    return instrument


@dataclass(frozen=True)
class BookDepth:
    bids: list[tuple[int, int]]  # (price, quantity), best (highest) first
    asks: list[tuple[int, int]]  # best (lowest) first


def book_depth(*, instrument: Instrument, levels: int = 50) -> BookDepth:
    """Resting quantity per price from the database (any web process can answer; the book
    itself lives in the matcher): open limit orders the matcher has booked."""
    resting = (
        Order.objects.filter(
            instrument=instrument, booked=True, status__in=BOOK_STATUSES, price__isnull=False
        )
        .values("side", "price")
        .annotate(remaining=Sum(F("quantity") - F("filled_quantity")))
    )
    bids = resting.filter(side=Order.Side.BUY).order_by("-price")[:levels]
    asks = resting.filter(side=Order.Side.SELL).order_by("price")[:levels]
    return BookDepth(
        bids=[(row["price"], row["remaining"]) for row in bids],
        asks=[(row["price"], row["remaining"]) for row in asks],
    )


def order_list(*, partner) -> QuerySet[Order]:
    return Order.objects.filter(partner=partner).select_related(
        "instrument__base_asset", "instrument__quote_asset"
    )


def order_get(*, partner, order_id) -> Order:
    order = order_list(partner=partner).filter(pk=order_id).first()
    if order is None:
        raise OrderNotFound()
    return order


def trade_list(*, partner) -> QuerySet[Trade]:
    """The partner's fills: each trade one of its orders took part in, with `side` and
    `order` (its order's id) annotated from the partner's side."""
    mine_bought = Q(buy_order__partner=partner)
    return (
        Trade.objects.filter(mine_bought | Q(sell_order__partner=partner))
        .select_related("instrument__base_asset", "instrument__quote_asset")
        .annotate(
            side=Case(
                When(mine_bought, then=Value(Order.Side.BUY)),
                default=Value(Order.Side.SELL),
                output_field=CharField(),
            ),
            order_id=Case(
                When(mine_bought, then=F("buy_order_id")),
                default=F("sell_order_id"),
                output_field=UUIDField(),
            ),
        )
    )


@dataclass(frozen=True)
class Position:
    instrument: Instrument
    settled: int  # base minor units in the partner's main account (posted)
    unsettled_bought: int  # base minor units bought in trades whose batch has not settled
    unsettled_sold: int
    open_buy: int  # remaining quantity of open orders
    open_sell: int
    cash_held: int  # quote minor units held by its buy orders (open, or filled unsettled)


def position_list(*, partner) -> list[Position]:
    """One position per instrument."""
    accounts = {a.asset_id: a for a in account_list(partner=partner).filter(code="main")}
    unsettled_batches = list(trade_batches_unsettled())
    positions = []
    for instrument in instrument_list():
        account = accounts.get(instrument.base_asset_id)
        settled = account_balance(account=account).posted if account else 0
        unsettled = Trade.objects.filter(
            Q(settlement_batch_id__isnull=True) | Q(settlement_batch_id__in=unsettled_batches),
            instrument=instrument,
        ).aggregate(
            bought=Sum("quantity", filter=Q(buy_order__partner=partner)),
            sold=Sum("quantity", filter=Q(sell_order__partner=partner)),
        )
        orders = Order.objects.filter(partner=partner, instrument=instrument)
        remaining = F("quantity") - F("filled_quantity")
        open_quantity = orders.filter(status__in=ORDER_OPEN_STATUSES).aggregate(
            buy=Sum(remaining, filter=Q(side=Order.Side.BUY)),
            sell=Sum(remaining, filter=Q(side=Order.Side.SELL)),
        )
        buy_holds = orders.filter(side=Order.Side.BUY, hold_id__isnull=False).values("hold_id")
        cash_held = holds_by_origin(origin=Transfer.Origin.ORDER).filter(pk__in=buy_holds)
        positions.append(
            Position(
                instrument=instrument,
                settled=settled,
                unsettled_bought=unsettled["bought"] or 0,
                unsettled_sold=unsettled["sold"] or 0,
                open_buy=open_quantity["buy"] or 0,
                open_sell=open_quantity["sell"] or 0,
                cash_held=cash_held.aggregate(total=Sum("amount"))["total"] or 0,
            )
        )
    return positions
