"""Trading's API shapes. Prices are decimal strings in the quote asset's scale (per one
whole unit of the base asset), quantities decimal strings in the base asset's scale;
inside, both are integers of minor units (core.money)."""

from decimal import ROUND_HALF_EVEN, Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.prebuilt_fields import PrebuiltFieldsMixin
from core.api.schema import DECIMAL_STRING, POSITIVE_DECIMAL_STRING
from core.errors import ValidationFailed
from core.money import DecimalStringField, from_minor_units, to_minor_units
from trading.models import Order

# Prices and quantities are described as the API reads and writes every decimal (core's).
DECIMAL = {**DECIMAL_STRING, "example": "10.00"}
NULLABLE_DECIMAL = {**DECIMAL, "nullable": True}
POSITIVE_DECIMAL = {**POSITIVE_DECIMAL_STRING, "example": "10.00"}
# An average of fills may need more places than the quote has: this many more, rounded.
AVERAGE_EXTRA_PLACES = 4


def price_text(price: int | None, *, instrument) -> str | None:
    if price is None:
        return None
    return from_minor_units(price, scale=instrument.quote_asset.scale)


def quantity_text(quantity: int, *, instrument) -> str:
    return from_minor_units(quantity, scale=instrument.base_asset.scale)


def average_price_text(order: Order) -> str | None:
    if not order.filled_quantity:
        return None
    instrument = order.instrument
    base, quote = instrument.base_asset.scale, instrument.quote_asset.scale
    # filled_notional is quote minor units for filled_quantity base minor units.
    minor = Decimal(order.filled_notional) * 10**base / order.filled_quantity
    places = Decimal(1).scaleb(-AVERAGE_EXTRA_PLACES)
    exact = minor.quantize(places, rounding=ROUND_HALF_EVEN)
    text = f"{exact.scaleb(-quote):f}"
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0").ljust(quote, "0")
    return f"{whole}.{fraction}" if fraction else whole


def minor_units_of(value, *, scale: int, field: str) -> int:
    try:
        return to_minor_units(value, scale=scale)
    except ValidationFailed as exc:
        raise serializers.ValidationError({field: [exc.message]}) from exc


@extend_schema_field(POSITIVE_DECIMAL)
class DecimalInputField(DecimalStringField):
    """A positive decimal string, checked against the instrument's scale by the view."""


class InstrumentSerializer(PrebuiltFieldsMixin, serializers.Serializer):
    symbol = serializers.CharField()
    base_asset = serializers.CharField(source="base_asset_id")
    quote_asset = serializers.CharField(source="quote_asset_id")
    tick_size = serializers.SerializerMethodField()
    lot_size = serializers.SerializerMethodField()
    collar_low = serializers.SerializerMethodField()
    collar_high = serializers.SerializerMethodField()
    status = serializers.CharField(help_text="trading or halted")

    @extend_schema_field(DECIMAL)
    def get_tick_size(self, instrument) -> str:
        return price_text(instrument.tick_size, instrument=instrument)

    @extend_schema_field(DECIMAL)
    def get_lot_size(self, instrument) -> str:
        return quantity_text(instrument.lot_size, instrument=instrument)

    @extend_schema_field(DECIMAL)
    def get_collar_low(self, instrument) -> str:
        return price_text(instrument.collar_low, instrument=instrument)

    @extend_schema_field(DECIMAL)
    def get_collar_high(self, instrument) -> str:
        return price_text(instrument.collar_high, instrument=instrument)


class OrderSerializer(PrebuiltFieldsMixin, serializers.Serializer):
    id = serializers.UUIDField()
    client_order_id = serializers.CharField()
    symbol = serializers.CharField(source="instrument.symbol")
    side = serializers.CharField()
    type = serializers.CharField()
    time_in_force = serializers.CharField()
    price = serializers.SerializerMethodField()
    quantity = serializers.SerializerMethodField()
    filled_quantity = serializers.SerializerMethodField()
    average_price = serializers.SerializerMethodField(help_text="Of the fills so far.")
    status = serializers.CharField(
        help_text="accepted, held, rejected, partially_filled, filled, cancelled or expired"
    )
    reject_reason = serializers.CharField()
    cancel_reason = serializers.CharField()
    sequence = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    accepted_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()

    @extend_schema_field(NULLABLE_DECIMAL)
    def get_price(self, order) -> str | None:
        return price_text(order.price, instrument=order.instrument)

    @extend_schema_field(DECIMAL)
    def get_quantity(self, order) -> str:
        return quantity_text(order.quantity, instrument=order.instrument)

    @extend_schema_field(DECIMAL)
    def get_filled_quantity(self, order) -> str:
        return quantity_text(order.filled_quantity, instrument=order.instrument)

    @extend_schema_field(NULLABLE_DECIMAL)
    def get_average_price(self, order) -> str | None:
        return average_price_text(order)


class TradeSerializer(PrebuiltFieldsMixin, serializers.Serializer):
    """One of the partner's fills (trading.selectors.trade_list annotates side and order)."""

    id = serializers.UUIDField()
    order = serializers.UUIDField(source="order_id")
    symbol = serializers.CharField(source="instrument.symbol")
    side = serializers.CharField()
    price = serializers.SerializerMethodField()
    quantity = serializers.SerializerMethodField()
    executed_at = serializers.DateTimeField()

    @extend_schema_field(DECIMAL)
    def get_price(self, trade) -> str:
        return price_text(trade.price, instrument=trade.instrument)

    @extend_schema_field(DECIMAL)
    def get_quantity(self, trade) -> str:
        return quantity_text(trade.quantity, instrument=trade.instrument)


class PositionSerializer(PrebuiltFieldsMixin, serializers.Serializer):
    """A trading.selectors.Position: quantities in the base asset, cash in the quote."""

    symbol = serializers.CharField(source="instrument.symbol")
    settled = serializers.SerializerMethodField()
    unsettled_bought = serializers.SerializerMethodField()
    unsettled_sold = serializers.SerializerMethodField()
    open_buy = serializers.SerializerMethodField()
    open_sell = serializers.SerializerMethodField()
    cash_held = serializers.SerializerMethodField()

    def _quantity(self, position, name):
        return quantity_text(getattr(position, name), instrument=position.instrument)

    @extend_schema_field(DECIMAL)
    def get_settled(self, position) -> str:
        return self._quantity(position, "settled")

    @extend_schema_field(DECIMAL)
    def get_unsettled_bought(self, position) -> str:
        return self._quantity(position, "unsettled_bought")

    @extend_schema_field(DECIMAL)
    def get_unsettled_sold(self, position) -> str:
        return self._quantity(position, "unsettled_sold")

    @extend_schema_field(DECIMAL)
    def get_open_buy(self, position) -> str:
        return self._quantity(position, "open_buy")

    @extend_schema_field(DECIMAL)
    def get_open_sell(self, position) -> str:
        return self._quantity(position, "open_sell")

    @extend_schema_field(DECIMAL)
    def get_cash_held(self, position) -> str:
        return from_minor_units(position.cash_held, scale=position.instrument.quote_asset.scale)
