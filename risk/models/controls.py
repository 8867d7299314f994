"""Pre-trade controls: limits staff set without writing a rule. Each applies to one
partner or all (partner empty) and one instrument or all (instrument empty)."""

from django.db import models
from django.db.models import Q


class Control(models.Model):
    class Kind(models.TextChoices):
        KILL_SWITCH = "kill_switch", "Kill switch (halt)"
        REDUCE_ONLY = "reduce_only", "Kill switch (reduce only: sells)"
        MAX_QUANTITY = "max_quantity", "Max order quantity"
        MAX_NOTIONAL = "max_notional", "Max order notional"
        PRICE_COLLAR = "price_collar", "Price collar"
        ORDER_RATE = "order_rate", "Orders per minute"
        DAILY_CREDIT = "daily_credit", "Daily buy notional (credit)"
        # Post-trade: scored after the fact, each excess a risk event staff acknowledge.
        DAILY_VOLUME = "daily_volume", "Post-trade: daily traded notional"
        DAILY_OUTFLOW = "daily_outflow", "Post-trade: daily posted transfers out"

    # What `limit` is in, per kind (the admin shows it).
    LIMIT_UNITS = {
        Kind.MAX_QUANTITY: "base minor units",
        Kind.MAX_NOTIONAL: "quote minor units",
        Kind.ORDER_RATE: "orders in the current minute",
        Kind.DAILY_CREDIT: "quote minor units since 00:00 UTC",
        Kind.PRICE_COLLAR: "basis points either side of the reference",
        Kind.DAILY_VOLUME: "quote minor units traded since 00:00 UTC (post-trade)",
        Kind.DAILY_OUTFLOW: "minor units posted out since 00:00 UTC (post-trade)",
    }
    POST_TRADE = frozenset({Kind.DAILY_VOLUME, Kind.DAILY_OUTFLOW})

    kind = models.CharField(max_length=16, choices=Kind.choices)
    partner = models.ForeignKey(
        "core.Partner", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    instrument = models.CharField(
        max_length=32, blank=True, help_text='A symbol ("ACME/USD"); empty: every instrument.'
    )
    limit = models.BigIntegerField(null=True, blank=True)
    reference_price = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="Price collar: used when the instrument has no trade yet (quote minor units).",
    )
    enabled = models.BooleanField(default=True)
    note = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "instrument", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["kill_switch", "reduce_only"])
                | Q(limit__isnull=False, limit__gt=0),
                name="control_limit_positive",
            )
        ]

    def __str__(self) -> str:
        scope = f"{self.partner or 'all partners'} / {self.instrument or 'all instruments'}"
        return f"{self.get_kind_display()} ({scope})"
