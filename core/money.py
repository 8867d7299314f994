"""Money is an integer of minor units inside and a decimal string outside. Never a float."""

from decimal import Decimal, InvalidOperation

from rest_framework import serializers

from core.errors import ValidationFailed


def to_minor_units(amount: Decimal | str, *, scale: int) -> int:
    """'1500.50' at scale 2 -> 150050. More decimals than the scale is an error, not a round."""
    try:
        value = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ValidationFailed(f"{amount!r} is not a decimal amount.") from exc
    if not value.is_finite():
        raise ValidationFailed(f"{amount!r} is not a decimal amount.")
    minor = value.scaleb(scale)
    if minor != minor.to_integral_value():
        raise ValidationFailed(f"At most {scale} decimal places.")
    return int(minor)


def from_minor_units(minor: int, *, scale: int) -> str:
    """150050 at scale 2 -> '1500.50'; always exactly `scale` decimals."""
    sign = "-" if minor < 0 else ""
    digits = str(abs(minor)).rjust(scale + 1, "0")
    if scale == 0:
        return f"{sign}{digits}"
    return f"{sign}{digits[:-scale]}.{digits[-scale:]}"


class DecimalStringField(serializers.Field):
    """A decimal amount sent as a JSON string ("1500.50"). JSON numbers are refused: floats
    lose cents. Validates shape and sign; the asset's scale is checked by the caller."""

    default_error_messages = {
        "not_a_string": "Send amounts as decimal strings, e.g. \"1500.50\", not JSON numbers.",
        "invalid": "Not a decimal amount.",
        "not_positive": "Must be greater than zero.",
        "too_long": "Too many digits.",
    }

    def __init__(self, *, positive: bool = True, **kwargs):
        self.positive = positive
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> Decimal:
        if not isinstance(data, str):
            self.fail("not_a_string")
        text = data.strip()
        if len(text) > 40 or "e" in text.lower():
            self.fail("invalid" if "e" in text.lower() else "too_long")
        try:
            value = Decimal(text)
        except InvalidOperation:
            self.fail("invalid")
        if not value.is_finite():
            self.fail("invalid")
        if self.positive and value <= 0:
            self.fail("not_positive")
        return value

    def to_representation(self, value):
        return str(value)
