"""Money is an integer of minor units inside and a decimal string outside. Never a float."""

import re
from decimal import Decimal, Inexact, localcontext

from rest_framework import serializers

from core.errors import ValidationFailed

# Plain ASCII decimals only: no exponent ("1e3"), no "_" or "+", no non-ASCII digits, no NaN.
_DECIMAL_STRING = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_MAX_LENGTH = 40
MAX_DECIMAL_STRING_LENGTH = _MAX_LENGTH
# What the API writes: any decimal string (a balance may be negative).
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
# What the API reads (DecimalStringField), stated in the schema as it is checked: no
# leading zeros and at most 14 digits before the point (100 trillion: any amount of any
# asset of scale 4 or less then fits the ledger's 64-bit minor units), greater than zero.
MAX_INTEGER_DIGITS = 14
_MORE_DIGITS = MAX_INTEGER_DIGITS - 1
_INPUT_DECIMAL = re.compile(rf"-?(0|[1-9][0-9]{{0,{_MORE_DIGITS}}})(\.[0-9]+)?")
POSITIVE_DECIMAL_PATTERN = rf"^([1-9][0-9]{{0,{_MORE_DIGITS}}}(\.[0-9]+)?|0\.[0-9]*[1-9][0-9]*)$"
# Minor units are stored in a BigIntegerField.
MAX_MINOR_UNITS = 2**63 - 1


def parse_decimal_string(text: str) -> Decimal | None:
    """'1500.50' -> Decimal('1500.50'); anything that is not a plain decimal -> None."""
    if len(text) > _MAX_LENGTH or not _DECIMAL_STRING.fullmatch(text):
        return None
    return Decimal(text)


def to_minor_units(amount: Decimal | str, *, scale: int) -> int:
    """'1500.50' at scale 2 -> 150050. More decimals than the scale is an error, not a round.

    Floats are refused: they cannot hold most decimal amounts exactly."""
    if isinstance(amount, str):
        value = parse_decimal_string(amount)
    elif isinstance(amount, Decimal) and amount.is_finite():
        value = amount
    else:
        value = None
    if value is None:
        raise ValidationFailed(f"{str(amount)[:_MAX_LENGTH]!r} is not a decimal amount.")
    with localcontext() as ctx:
        ctx.prec = 2 * _MAX_LENGTH
        ctx.traps[Inexact] = True  # never round money silently
        try:
            minor = value.scaleb(scale)
        except Inexact as exc:
            raise ValidationFailed(f"{str(amount)!r} has too many digits.") from exc
    if minor != minor.to_integral_value():
        raise ValidationFailed(f"At most {scale} decimal places.")
    if abs(minor) > MAX_MINOR_UNITS:
        raise ValidationFailed(f"{str(amount)!r} is too large.")
    return int(minor)


# Thousands grouped with commas, as format_grouped writes them: 5,000.00 or 1,250,000.
_GROUPED_DECIMAL = re.compile(r"-?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?")


def staff_amount_to_minor_units(text: str, *, scale: int) -> int:
    """An amount as staff type it in the console, where amounts are shown grouped:
    '5,000.00' and '5000.00' are both 500000 at scale 2. Commas must group thousands
    ('5,00.00' is refused, never guessed at); the API takes plain decimals only."""
    text = text.strip()
    if _GROUPED_DECIMAL.fullmatch(text):
        text = text.replace(",", "")
    elif "," in text:
        raise ValidationFailed(
            f"{text[:_MAX_LENGTH]!r}: commas may only group thousands, as in 5,000.00."
        )
    return to_minor_units(text, scale=scale)


def from_minor_units(minor: int, *, scale: int) -> str:
    """150050 at scale 2 -> '1500.50'; always exactly `scale` decimals."""
    sign = "-" if minor < 0 else ""
    digits = str(abs(minor)).rjust(scale + 1, "0")
    if scale == 0:
        return f"{sign}{digits}"
    return f"{sign}{digits[:-scale]}.{digits[-scale:]}"


def format_grouped(minor: int, *, scale: int) -> str:
    """For people, not machines: 200000000 at scale 2 -> '2,000,000.00' (never in
    exponent notation, whatever the scale)."""
    return f"{Decimal(from_minor_units(minor, scale=scale)):,f}"


class DecimalStringField(serializers.Field):
    """A decimal amount sent as a JSON string ("1500.50"). JSON numbers are refused: floats
    lose cents, and so is text around the digits (" 1.00"): a client sends what the schema's
    pattern says. Validates shape and sign; the asset's scale is checked by the caller."""

    default_error_messages = {
        "not_a_string": 'Send amounts as decimal strings, e.g. "1500.50", not JSON numbers.',
        "invalid": "Not a decimal amount.",
        "not_positive": "Must be greater than zero.",
        "too_long": "Too many digits.",
        "not_canonical": "Write it plainly: no leading zeros, at most "
        f"{MAX_INTEGER_DIGITS} digits before the point.",
    }

    def __init__(self, *, positive: bool = True, **kwargs):
        self.positive = positive
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> Decimal:
        if not isinstance(data, str):
            self.fail("not_a_string")
        text = data
        if len(text) > _MAX_LENGTH:
            self.fail("too_long")
        value = parse_decimal_string(text)
        if value is None:
            self.fail("invalid")
        if not _INPUT_DECIMAL.fullmatch(text):
            self.fail("not_canonical")
        if self.positive and value <= 0:
            self.fail("not_positive")
        return value

    def to_representation(self, value):
        return str(value)
