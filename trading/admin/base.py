"""Display helpers the trading pages share: prices in the quote asset, quantities in the
base asset, both grouped for staff eyes."""

from django.contrib import admin

from core.money import format_grouped


def price_display(price: int | None, instrument) -> str:
    if price is None:
        return "market"
    return format_grouped(price, scale=instrument.quote_asset.scale)


def quantity_display(quantity: int, instrument) -> str:
    return format_grouped(quantity, scale=instrument.base_asset.scale)


def notional_display(notional: int, instrument) -> str:
    return format_grouped(notional, scale=instrument.quote_asset.scale)


class PriceQuantityColumns:
    """`price_display` and `quantity_display` columns for a model with price, quantity and
    instrument (orders, trades)."""

    @admin.display(description="price", ordering="price")
    def price_display(self, row):
        return price_display(row.price, row.instrument)

    @admin.display(description="quantity", ordering="quantity")
    def quantity_display(self, row):
        return quantity_display(row.quantity, row.instrument)
