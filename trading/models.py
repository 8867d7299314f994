"""Trading: instruments, orders, trades and the matcher's durable state.

Units (TRADING.md): price is quote-asset minor units per ONE whole unit of the base asset;
quantity is base-asset minor units. Both are integers; tick_size and lot_size are in the
same units. Status changes go through trading.services.states.order_status_set.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


def _default_max_unmatched() -> int:
    return getattr(settings, "TRADING_MAX_UNMATCHED", 5000)


class Instrument(models.Model):
    class Status(models.TextChoices):
        TRADING = "trading", "Trading"
        HALTED = "halted", "Halted"

    symbol = models.CharField(max_length=32, unique=True, help_text='"ACME/USD"')
    base_asset = models.ForeignKey(
        "ledger.Asset", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    quote_asset = models.ForeignKey(
        "ledger.Asset", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    tick_size = models.BigIntegerField(help_text="Price step, quote minor units.")
    lot_size = models.BigIntegerField(help_text="Quantity step, base minor units.")
    collar_low = models.BigIntegerField(help_text="Lowest accepted limit price.")
    collar_high = models.BigIntegerField(
        help_text="Highest accepted limit price; a market buy holds at it."
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.TRADING)
    max_unmatched = models.IntegerField(
        default=_default_max_unmatched,
        help_text="Accepted-but-unbooked orders past which new orders are refused (503).",
    )
    last_sequence = models.BigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["symbol"]
        permissions = [("halt_instrument", "Can halt and resume trading in an instrument")]
        constraints = [
            models.CheckConstraint(
                condition=Q(tick_size__gt=0) & Q(lot_size__gt=0), name="instrument_steps_positive"
            ),
            models.CheckConstraint(
                condition=Q(collar_low__gt=0) & Q(collar_low__lte=models.F("collar_high")),
                name="instrument_collar_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.symbol


class Order(models.Model):
    class Side(models.TextChoices):
        BUY = "buy", "Buy"
        SELL = "sell", "Sell"

    class Type(models.TextChoices):
        LIMIT = "limit", "Limit"
        MARKET = "market", "Market"

    class TimeInForce(models.TextChoices):
        GTC = "gtc", "Good till cancelled"
        IOC = "ioc", "Immediate or cancel"
        FOK = "fok", "Fill or kill"

    class Status(models.TextChoices):
        NEW = "new", "New"
        ACCEPTED = "accepted", "Accepted"
        HELD = "held", "Held for review"
        REJECTED = "rejected", "Rejected"
        PARTIALLY_FILLED = "partially_filled", "Partially filled"
        FILLED = "filled", "Filled"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(
        "core.Partner", on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    client_order_id = models.CharField(max_length=64)
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="orders")
    side = models.CharField(max_length=4, choices=Side.choices)
    type = models.CharField(max_length=8, choices=Type.choices, default=Type.LIMIT)
    time_in_force = models.CharField(
        max_length=3, choices=TimeInForce.choices, default=TimeInForce.GTC
    )
    price = models.BigIntegerField(null=True, blank=True, help_text="Null for a market order.")
    quantity = models.BigIntegerField()
    filled_quantity = models.BigIntegerField(default=0)
    filled_notional = models.BigIntegerField(
        default=0, help_text="Sum of price x qty of fills, quote minor units."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    sequence = models.BigIntegerField(null=True, blank=True, help_text="Assigned at acceptance.")
    booked = models.BooleanField(default=False, help_text="The matcher has taken it in.")
    release_pending = models.BooleanField(
        default=False,
        help_text="Ended by the matcher; its hold not yet shrunk to what its fills consumed.",
    )
    hold_id = models.UUIDField(
        null=True, blank=True, help_text="The CURRENT ledger hold (successor after a shrink)."
    )
    reserved = models.BigIntegerField(default=0, help_text="Amount held, held asset minor units.")
    account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        db_index=False,
        help_text="The account the funds are held from.",
    )
    risk_decision = models.JSONField(default=dict, blank=True)
    reject_reason = models.CharField(max_length=255, blank=True)
    cancel_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        permissions = [("cancel_order", "Can cancel partners' orders")]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "client_order_id"], name="order_client_id_unique_per_partner"
            ),
            models.UniqueConstraint(
                fields=["instrument", "sequence"], name="order_sequence_unique_per_instrument"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_quantity_positive"),
            models.CheckConstraint(
                condition=Q(filled_quantity__gte=0) & Q(filled_quantity__lte=models.F("quantity")),
                name="order_filled_within_quantity",
            ),
        ]
        indexes = [
            # The matcher's queue: orders it has not yet taken in (accepted ones to match,
            # cancelled or expired ones to take off its book), in sequence order.
            models.Index(
                fields=["instrument", "sequence"],
                condition=Q(booked=False, sequence__isnull=False),
                name="order_matcher_queue",
            ),
            models.Index(fields=["partner", "created_at", "id"], name="order_partner_recent"),
            # The matcher's deferred hold releases (trading.matching.releases).
            models.Index(
                fields=["instrument"],
                condition=Q(release_pending=True),
                name="order_release_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} {self.instrument_id} ({self.status})"

    @property
    def remaining_quantity(self) -> int:
        return self.quantity - self.filled_quantity


class Trade(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, related_name="trades", db_index=False
    )
    buy_order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="buy_trades")
    sell_order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="sell_trades")
    price = models.BigIntegerField()
    quantity = models.BigIntegerField()
    aggressor_side = models.CharField(max_length=4, choices=Order.Side.choices)
    sequence = models.BigIntegerField(help_text="Per instrument, from the matcher.")
    executed_at = models.DateTimeField()
    settlement_batch_id = models.UUIDField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["instrument", "sequence"], name="trade_sequence_unique_per_instrument"
            ),
        ]
        indexes = [
            models.Index(
                fields=["instrument", "executed_at"],
                condition=Q(settlement_batch_id__isnull=True),
                name="trade_unsettled",
            ),
            # Clearing reads a settlement batch's trades (settlement.services.clearing).
            models.Index(fields=["settlement_batch_id"], name="trade_settlement_batch"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} {self.instrument_id} @ {self.price}"


class MatcherState(models.Model):
    instrument = models.OneToOneField(
        Instrument, on_delete=models.CASCADE, primary_key=True, related_name="matcher_state"
    )
    last_sequence = models.BigIntegerField(default=0, help_text="Last order sequence taken in.")
    last_trade_sequence = models.BigIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    owner = models.CharField(max_length=128, blank=True, help_text="host:pid")
    lag = models.IntegerField(default=0, help_text="Accepted but unbooked at the last beat.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"matcher {self.instrument_id}"
