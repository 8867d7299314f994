"""Fields the ledger's serializers share. Amounts travel as decimal strings in the asset's
scale; inside they are integers of minor units (core.money)."""

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.schema import DECIMAL_STRING, POSITIVE_DECIMAL_STRING
from core.errors import ValidationFailed
from core.money import DecimalStringField, from_minor_units, to_minor_units
from ledger.models import Asset
from ledger.selectors import assets_by_code

MAX_TIMEOUT_SECONDS = 365 * 24 * 3600
MAX_METADATA_BYTES = 8192


def minor_units(value, *, asset: Asset, field: str = "amount") -> int:
    """A validated decimal in `asset`'s minor units; too many decimals is a 400 on `field`."""
    try:
        minor = to_minor_units(value, scale=asset.scale)
    except ValidationFailed as exc:
        raise serializers.ValidationError({field: [exc.message]}) from exc
    return minor


@extend_schema_field(POSITIVE_DECIMAL_STRING)
class AmountInputField(DecimalStringField):
    """A positive decimal string (core.money), described as such in the schema."""


@extend_schema_field(DECIMAL_STRING)
class DecimalOutputField(serializers.CharField):
    """A decimal string the API writes (a balance: may be negative)."""


class AssetCodeField(serializers.CharField):
    """An asset's code in any case: `usd` reads as USD. Its schema lists the assets that
    exist (ledger.api.schema)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 16)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(data).upper()


@extend_schema_field(
    {
        "type": "string",
        "anyOf": [{"format": "date-time"}, {"format": "date"}],
        "example": "2026-03-31T17:00:00Z",
    }
)
class AsOfField(serializers.DateTimeField):
    """An instant (ISO 8601), or a date alone: the end of that business day in
    BUSINESS_TIME_ZONE (its last microsecond), which is what a statement "as of" a day
    means. Read as midnight, a date would leave out the whole day."""

    def to_internal_value(self, value):
        if isinstance(value, str) and _DATE_ONLY.fullmatch(value):
            try:
                following = date.fromisoformat(value) + timedelta(days=1)
            except (ValueError, OverflowError):
                self.fail("invalid", format="YYYY-MM-DD or an ISO 8601 instant")
            zone = ZoneInfo(settings.BUSINESS_TIME_ZONE)
            return datetime.combine(following, time.min, tzinfo=zone) - timedelta(microseconds=1)
        return super().to_internal_value(value)


_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@extend_schema_field({**DECIMAL_STRING, "readOnly": True})
class AmountField(serializers.Field):
    """Reads the minor units in attribute `minor` of the object and writes them in the scale
    of the object's asset (from context["assets"] when given: no query per row)."""

    def __init__(self, *, minor: str = "amount", **kwargs):
        self.minor = minor
        kwargs.update(source="*", read_only=True)
        super().__init__(**kwargs)

    def to_representation(self, obj):
        assets = self.context.get("assets") or {}
        asset = assets.get(obj.asset_id) or assets_by_code(codes=[obj.asset_id])[obj.asset_id]
        return from_minor_units(getattr(obj, self.minor), scale=asset.scale)


# --- Accounts ------------------------------------------------------------------------------


DECIMAL = {**DECIMAL_STRING, "example": "-250.50"}
NULLABLE_DECIMAL = {**DECIMAL_STRING, "nullable": True, "example": "60.00"}


class MinorUnitsField(serializers.Field):
    """Minor units of the statement's account (context["account"]) as a decimal string."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, minor):
        return from_minor_units(minor, scale=self.context["account"].asset.scale)


@extend_schema_field(DECIMAL)
class SignedAmountField(MinorUnitsField):
    pass


@extend_schema_field(NULLABLE_DECIMAL)
class OptionalAmountField(MinorUnitsField):
    pass
