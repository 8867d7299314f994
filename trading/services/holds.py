"""An order's funds in the ledger: what it holds, placing the hold, releasing what is left.

Buy orders hold the quote asset (price x quantity, a market buy at the collar's upper bound),
sell orders the base asset (the quantity), as one pending transfer from the partner's
account to the house account `trading_clearing` of that asset, with origin "order" so
only trading (or settlement, staff) can release it. What fills consume stays held for
settlement; when an order ends, its hold shrinks to what fills consumed (void if none).
"""

import uuid

from ledger.models import Account, Transfer
from ledger.selectors import account_id_by_code, hold_current
from ledger.services import (
    HoldOperation,
    TransferRequest,
    house_account_declare,
    house_account_id,
    ledger_apply,
)
from trading.models import Instrument, Order

CLEARING_ACCOUNT = "trading_clearing"
HOLD_CODE = "order_hold"

house_account_declare(
    code=CLEARING_ACCOUNT,
    kind=Account.Kind.LIABILITY,
    description="What open orders hold, until settlement moves it",
)


class NotionalNotWhole(ValueError):
    """price x quantity is not a whole number of quote minor units."""


def notional(*, price: int, quantity: int, instrument: Instrument) -> int:
    """price * quantity in quote minor units; refuses a combination that would need rounding."""
    scaled = price * quantity
    divisor = 10**instrument.base_asset.scale
    if scaled % divisor:
        raise NotionalNotWhole(f"{price} x {quantity} is not whole at scale {divisor}.")
    return scaled // divisor


def order_held_asset(*, order: Order) -> str:
    instrument = order.instrument
    return instrument.quote_asset_id if order.side == Order.Side.BUY else instrument.base_asset_id


def order_reserve_amount(*, order: Order) -> int:
    """What accepting `order` must hold, in minor units of its held asset."""
    if order.side == Order.Side.SELL:
        return order.quantity
    price = order.price if order.type == Order.Type.LIMIT else order.instrument.collar_high
    return notional(price=price, quantity=order.quantity, instrument=order.instrument)


def order_consumed_amount(*, order: Order) -> int:
    """What the order's fills consumed of its hold (they stay held until settlement)."""
    return order.filled_notional if order.side == Order.Side.BUY else order.filled_quantity


def order_funding_account_id(*, partner, asset: str):
    """The id of the partner's `main` account in `asset`, where an order's funds are held
    from (None if it has none). Its balance and status are read under the ledger's lock."""
    return account_id_by_code(partner_id=partner.pk, asset=asset, code="main")


def order_hold_place(*, order: Order, account_id, acting_user=None) -> Transfer:
    """Hold `order.reserved` from `account_id` (inside the caller's transaction) and set
    `order.hold_id`. Raises the ledger's InsufficientFunds / AccountFrozen; the caller's
    rollback then leaves nothing. The hold's id is the ledger's own: an order's hold is never
    retried on its own (it commits with the order or not at all), and a call without client
    ids runs in the caller's transaction without a savepoint."""
    asset = order_held_asset(order=order)
    clearing_id = house_account_id(code=CLEARING_ACCOUNT, asset=asset)
    applied = ledger_apply(
        origin=Transfer.Origin.ORDER,
        transfers=[
            TransferRequest(
                debit_account_id=account_id,
                credit_account_id=clearing_id,
                amount=order.reserved,
                asset=asset,
                code=HOLD_CODE,
                reference=f"order {order.client_order_id}"[:255],
                pending=True,
                origin_ref=str(order.id),
            )
        ],
        acting_user=acting_user,
    )
    hold = applied.transfers[0].transfer
    order.hold_id = hold.pk
    return hold


def order_hold_release_operation(*, order: Order) -> HoldOperation | None:
    """The ledger operation that shrinks an ended order's hold to what its fills consumed
    (a void when they consumed nothing); None when nothing is left to release.

    Anything the hold lost before (settlement posting fills) was consumption already, so
    what stays held is consumed - (reserved - current hold). The matcher may batch these
    into its own ledger_apply; order_hold_release applies one.
    """
    if order.hold_id is None:
        return None
    current = hold_current(hold_id=order.hold_id)
    if current.status != Transfer.Status.PENDING:
        return None
    already_taken = order.reserved - current.amount
    keep = max(order_consumed_amount(order=order) - already_taken, 0)
    if keep >= current.amount:
        return None
    return HoldOperation(
        pending_id=current.pk,
        action=HoldOperation.VOID,
        keep=keep,
        transfer_id=uuid.uuid4(),
        successor_id=uuid.uuid4() if keep else None,
        origin_ref=str(order.id),
    )


def order_hold_release(*, order: Order, acting_user=None) -> Order:
    """Release what `order` (ended, locked by the caller) holds beyond its fills' use and
    point `order.hold_id` at the hold that keeps the rest. The caller saves `hold_id`."""
    operation = order_hold_release_operation(order=order)
    if operation is None:
        return order
    applied = ledger_apply(
        origin=Transfer.Origin.ORDER, hold_operations=[operation], acting_user=acting_user
    )
    successor = applied.holds[0].successor
    order.hold_id = successor.pk if successor is not None else operation.pending_id
    return order
