"""Display helpers the trading pages share: prices in the quote asset, quantities in the
base asset, both grouped for staff eyes."""

from core.money import format_grouped


def price_display(price: int | None, instrument) -> str:
    if price is None:
        return "market"
    return format_grouped(price, scale=instrument.quote_asset.scale)


def quantity_display(quantity: int, instrument) -> str:
    return format_grouped(quantity, scale=instrument.base_asset.scale)


def notional_display(notional: int, instrument) -> str:
    return format_grouped(notional, scale=instrument.quote_asset.scale)
