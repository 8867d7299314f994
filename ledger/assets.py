"""Assets from data: every active ISO 4217 currency with its exponent as the scale."""

import iso4217


def iso4217_currencies() -> list[tuple[str, str, int]]:
    """(code, name, scale) for each currency that has minor units defined."""
    return [
        (currency.code, currency.currency_name, currency.exponent)
        for currency in iso4217.Currency
        if currency.exponent is not None
    ]


def currency_assets_sync(asset_model) -> int:
    """Create the missing currency assets; returns how many were created. Takes the model
    class so migrations can pass their historical one."""
    existing = set(asset_model.objects.values_list("code", flat=True))
    missing = [
        asset_model(code=code, name=name[:100], scale=scale, is_currency=True)
        for code, name, scale in iso4217_currencies()
        if code not in existing
    ]
    asset_model.objects.bulk_create(missing)
    return len(missing)
