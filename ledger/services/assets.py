"""Assets other apps need that are not ISO 4217 currencies (an instrument's shares)."""

from django.db import transaction

from core.errors import ValidationFailed
from ledger.models import Asset


@transaction.atomic
def asset_ensure(*, code: str, name: str, scale: int, is_currency: bool = False) -> Asset:
    """The asset `code`, created on first use; an existing one must have the same scale
    (amounts already stored in it would change meaning otherwise)."""
    asset, _ = Asset.objects.get_or_create(
        code=code, defaults={"name": name, "scale": scale, "is_currency": is_currency}
    )
    if asset.scale != scale:
        raise ValidationFailed(details={"scale": [f"{code} has scale {asset.scale}."]})
    return asset
