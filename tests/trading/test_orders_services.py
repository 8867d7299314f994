"""Order entry and cancel, as services: validation, funds held in the ledger, sequencing,
client_order_id idempotency, backpressure and the hold-changed callback. Matching is the
matcher's (tests/trading/test_orders_matched.py runs both together)."""

import pytest

from core.errors import ServiceUnavailable, ValidationFailed
from ledger.errors import InsufficientFunds
from ledger.models import Transfer
from ledger.selectors import account_balance, hold_current, holds_by_origin, transfer_by_id
from ledger.services import HoldOperation, ledger_apply, pending_transfer_void
from trading import errors
from trading.models import MatcherState, Order
from trading.services.instruments import instrument_halt
from trading.services.orders import order_cancel, order_place

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _separate_matcher(settings, matcher_alive):
    settings.TRADING_MATCH_INLINE = False


def place(partner, instrument, *, cid="c1", side="buy", price=1000, quantity=100, **kw):
    kw.setdefault("type", "limit")
    kw.setdefault("time_in_force", "gtc")
    return order_place(
        partner=partner,
        instrument=instrument,
        client_order_id=cid,
        side=side,
        price=price,
        quantity=quantity,
        **kw,
    )


def available(account) -> int:
    account.refresh_from_db()
    return account_balance(account=account).available


def test_a_buy_holds_its_notional_from_the_partners_quote_account(partner, acme, fund):
    usd = fund(partner, "USD", 500_000)
    order = place(partner, acme, price=1000, quantity=100).order
    assert (order.status, order.sequence, order.reserved) == ("accepted", 1, 100_000)
    hold = transfer_by_id(transfer_id=order.hold_id)
    assert (hold.status, hold.origin, hold.origin_ref) == ("pending", "order", str(order.id))
    assert (hold.debit_account_id, hold.amount, hold.asset_id) == (usd.pk, 100_000, "USD")
    assert available(usd) == 400_000


def test_a_sell_holds_the_base_asset_and_a_market_buy_holds_at_the_collar_top(partner, acme, fund):
    shares = fund(partner, "ACME", 300)
    usd = fund(partner, "USD", 10_000_000)
    sell = place(partner, acme, cid="s", side="sell", quantity=250).order
    market = place(partner, acme, cid="m", type="market", price=None, quantity=50).order
    assert (sell.reserved, available(shares)) == (250, 50)
    assert market.reserved == 100_000 * 50
    assert available(usd) == 10_000_000 - 5_000_000
    assert (sell.sequence, market.sequence) == (1, 2)


def test_the_same_client_order_id_and_order_again_is_the_same_order(partner, acme, fund):
    usd = fund(partner, "USD", 500_000)
    first = place(partner, acme).order
    again = place(partner, acme)
    assert again.replayed and again.order.pk == first.pk
    assert Order.objects.count() == 1 and available(usd) == 400_000


def test_a_client_order_id_reused_for_another_order_is_a_conflict(partner, acme, fund):
    usd = fund(partner, "USD", 500_000)
    first = place(partner, acme).order
    with pytest.raises(errors.ClientOrderIdReused) as refused:
        place(partner, acme, price=1001)
    assert refused.value.status == 409
    assert refused.value.details["order"] == str(first.pk)
    assert Order.objects.count() == 1 and available(usd) == 400_000


def test_another_partner_may_use_the_same_client_order_id(partner, other_partner, acme, fund):
    fund(partner, "USD", 500_000)
    fund(other_partner, "USD", 500_000)
    mine, theirs = place(partner, acme).order, place(other_partner, acme).order
    assert mine.pk != theirs.pk and (mine.sequence, theirs.sequence) == (1, 2)


def test_an_order_beyond_the_partners_funds_leaves_nothing_behind(partner, acme, fund):
    usd = fund(partner, "USD", 99_999)
    with pytest.raises(InsufficientFunds):
        place(partner, acme, price=1000, quantity=100)
    assert not Order.objects.exists()
    assert not holds_by_origin(origin="order").exists()
    assert available(usd) == 99_999
    acme.refresh_from_db()
    assert acme.last_sequence == 0


def test_an_order_without_an_account_in_the_held_asset_is_insufficient_funds(partner, acme):
    with pytest.raises(InsufficientFunds) as refused:
        place(partner, acme, side="sell")
    assert refused.value.details == {"asset": "ACME", "reason": "no_account"}
    assert not Order.objects.exists()


def test_a_halted_instrument_refuses_orders(partner, acme, fund):
    fund(partner, "USD", 500_000)
    instrument_halt(instrument=acme, acting_user=None, reason="news pending")
    with pytest.raises(errors.InstrumentHalted) as refused:
        place(partner, acme)
    assert refused.value.status == 409
    assert refused.value.details == {"symbol": "ACME/USD", "status": "halted"}
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"price": 1000, "quantity": 0}, "quantity"),
        ({"price": 1000, "quantity": -5}, "quantity"),
        ({"price": 99, "quantity": 1}, "price"),  # below the collar (1.00)
        ({"price": 100_001, "quantity": 1}, "price"),  # above it (1000.00)
        ({"type": "limit", "price": None, "quantity": 1}, "price"),
        ({"type": "market", "price": 1000, "quantity": 1}, "price"),
        ({"price": 100_000, "quantity": 2**62}, "quantity"),  # its value overflows BIGINT
    ],
)
def test_orders_outside_the_instruments_rules_are_invalid(partner, acme, fund, fields, field):
    fund(partner, "USD", 10_000_000)
    with pytest.raises(ValidationFailed) as refused:
        place(partner, acme, **fields)
    assert field in refused.value.details
    assert not Order.objects.exists()


def test_tick_and_lot_sizes_are_enforced(partner, acme, fund):
    fund(partner, "USD", 10_000_000)
    acme.tick_size, acme.lot_size = 5, 10
    acme.save(update_fields=["tick_size", "lot_size"])
    with pytest.raises(ValidationFailed) as off_tick:
        place(partner, acme, price=1003, quantity=10)
    with pytest.raises(ValidationFailed) as off_lot:
        place(partner, acme, cid="c2", price=1005, quantity=15)
    assert "price" in off_tick.value.details and "quantity" in off_lot.value.details
    assert place(partner, acme, cid="c3", price=1005, quantity=20).order.status == "accepted"


def test_cancelling_an_unfilled_order_releases_all_it_held(partner, acme, fund):
    usd = fund(partner, "USD", 500_000)
    order = place(partner, acme).order
    cancelled = order_cancel(order=order, reason="client asked")
    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "client asked")
    assert transfer_by_id(transfer_id=order.hold_id).status == "voided"
    assert available(usd) == 500_000


def test_cancelling_a_partly_filled_order_keeps_only_what_its_fills_consumed(partner, acme, fund):
    usd = fund(partner, "USD", 500_000)
    order = place(partner, acme, price=1000, quantity=100).order
    # What the matcher writes for 30 filled at 9.90 (the resting order's better price).
    Order.objects.filter(pk=order.pk).update(
        status="partially_filled", booked=True, filled_quantity=30, filled_notional=29_700
    )
    cancelled = order_cancel(order=order)
    kept = transfer_by_id(transfer_id=cancelled.hold_id)
    assert (kept.status, kept.amount, kept.replaces_id) == ("pending", 29_700, order.hold_id)
    assert transfer_by_id(transfer_id=order.hold_id).status == "voided"
    assert available(usd) == 500_000 - 29_700
    assert cancelled.booked is False  # back on the matcher's queue, to leave its book


@pytest.mark.parametrize("final", ["filled", "cancelled", "rejected", "expired"])
def test_an_order_that_ended_cannot_be_cancelled(partner, acme, fund, final):
    usd = fund(partner, "USD", 500_000)
    order = place(partner, acme).order
    Order.objects.filter(pk=order.pk).update(status=final)
    with pytest.raises(errors.OrderNotCancellable) as refused:
        order_cancel(order=order)
    assert refused.value.status == 409 and refused.value.details["status"] == final
    assert transfer_by_id(transfer_id=order.hold_id).status == "pending"
    assert available(usd) == 400_000


def test_a_full_queue_refuses_new_orders_with_503(partner, acme, fund):
    fund(partner, "USD", 10_000_000)
    acme.max_unmatched = 2
    acme.save(update_fields=["max_unmatched"])
    place(partner, acme, cid="a")
    place(partner, acme, cid="b")
    with pytest.raises(ServiceUnavailable) as refused:
        place(partner, acme, cid="c")
    assert (refused.value.status, refused.value.retry_after) == (503, 1)
    assert refused.value.details["reason"] == "queue_full"
    assert Order.objects.count() == 2
    MatcherState.objects.filter(instrument=acme).update(last_sequence=1)  # it took one in
    assert place(partner, acme, cid="c").order.status == "accepted"


def test_a_silent_matcher_refuses_new_orders_with_503(partner, acme, fund, matcher_alive):
    fund(partner, "USD", 500_000)
    matcher_alive.heartbeat_at = matcher_alive.heartbeat_at.replace(year=2000)
    matcher_alive.save(update_fields=["heartbeat_at"])
    with pytest.raises(ServiceUnavailable) as refused:
        place(partner, acme)
    assert refused.value.details["reason"] == "matcher_silent"
    assert not Order.objects.exists()


def test_an_order_whose_hold_staff_released_is_cancelled(
    partner, acme, fund, django_capture_on_commit_callbacks
):
    fund(partner, "USD", 500_000)
    order = place(partner, acme).order
    with django_capture_on_commit_callbacks(execute=True):
        pending_transfer_void(pending_id=order.hold_id, origin=Transfer.Origin.STAFF)
    order.refresh_from_db()
    assert (order.status, order.cancel_reason) == ("cancelled", "hold_released")


def test_the_order_follows_its_hold_when_settlement_shrinks_it(
    partner, acme, fund, django_capture_on_commit_callbacks
):
    fund(partner, "USD", 500_000)
    order = place(partner, acme).order
    with django_capture_on_commit_callbacks(execute=True):
        # Settlement posts part and keeps the rest held: the order now holds the successor.
        ledger_apply(
            origin=Transfer.Origin.SETTLEMENT,
            hold_operations=[
                HoldOperation(
                    pending_id=order.hold_id, action=HoldOperation.POST, amount=10_000, keep=90_000
                )
            ],
        )
    order.refresh_from_db()
    current = hold_current(hold_id=order.hold_id)
    assert order.hold_id == current.pk and current.amount == 90_000
    assert order.status == "accepted"


def test_a_risk_rejection_keeps_a_rejected_order_and_holds_nothing(
    partner, acme, fund, monkeypatch
):
    from risk.services import Decision

    usd = fund(partner, "USD", 500_000)
    monkeypatch.setattr(
        "trading.services.orders.order_decision",
        lambda **_: Decision(outcome=Decision.REJECT, reasons=("max_notional",)),
    )
    order = place(partner, acme).order
    assert (order.status, order.reject_reason, order.sequence) == ("rejected", "max_notional", None)
    assert order.risk_decision == {"outcome": "reject", "reasons": ["max_notional"]}
    assert order.hold_id is None and not holds_by_origin(origin="order").exists()
    assert available(usd) == 500_000


def test_an_order_risk_sends_to_review_is_held_with_its_funds_and_no_sequence(
    partner, acme, fund, monkeypatch
):
    from risk.services import Decision

    usd = fund(partner, "USD", 500_000)
    monkeypatch.setattr(
        "trading.services.orders.order_decision",
        lambda **_: Decision(outcome=Decision.REVIEW, reasons=("large_order",)),
    )
    order = place(partner, acme).order
    assert (order.status, order.sequence, order.booked) == ("held", None, False)
    assert available(usd) == 400_000
    assert order_cancel(order=order).status == "cancelled"
    assert available(usd) == 500_000
