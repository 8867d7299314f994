"""Money: integers of minor units inside, decimal strings outside, never a float."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rest_framework import serializers

from core.errors import ValidationFailed
from core.money import (
    MAX_MINOR_UNITS,
    DecimalStringField,
    from_minor_units,
    staff_amount_to_minor_units,
    to_minor_units,
)

scales = st.integers(min_value=0, max_value=8)
minor_amounts = st.integers(min_value=-MAX_MINOR_UNITS, max_value=MAX_MINOR_UNITS)


@given(minor=minor_amounts, scale=scales)
def test_minor_units_round_trip_through_their_decimal_string(minor, scale):
    text = from_minor_units(minor, scale=scale)

    assert to_minor_units(text, scale=scale) == minor
    assert Decimal(text) == Decimal(minor).scaleb(-scale)
    assert ("." in text) == (scale > 0)
    if scale:
        assert len(text.split(".")[1]) == scale


@given(
    amount=st.decimals(min_value=-(10**12), max_value=10**12, places=2, allow_nan=False),
)
def test_a_decimal_within_the_scale_round_trips_to_the_same_value(amount):
    assert Decimal(from_minor_units(to_minor_units(amount, scale=2), scale=2)) == amount


@pytest.mark.parametrize(
    ("amount", "scale", "minor"),
    [
        ("1500.50", 2, 150050),
        ("1500.5", 2, 150050),
        ("1500", 2, 150000),
        ("0.01", 2, 1),
        ("-12.34", 2, -1234),
        ("1.50", 1, 15),  # trailing zeros are not extra decimals
        ("1500", 0, 1500),  # JPY
        (Decimal("99.999"), 3, 99999),
    ],
)
def test_to_minor_units(amount, scale, minor):
    assert to_minor_units(amount, scale=scale) == minor


@pytest.mark.parametrize(
    ("minor", "scale", "text"),
    [(150050, 2, "1500.50"), (5, 2, "0.05"), (-5, 2, "-0.05"), (0, 2, "0.00"), (1500, 0, "1500")],
)
def test_from_minor_units_always_writes_exactly_the_scale(minor, scale, text):
    assert from_minor_units(minor, scale=scale) == text


@pytest.mark.parametrize(
    ("amount", "scale"),
    [("1500.505", 2), ("0.001", 2), ("1.5", 0), ("100.1", 0)],
)
def test_more_decimals_than_the_scale_is_refused_never_rounded(amount, scale):
    with pytest.raises(ValidationFailed, match="decimal places"):
        to_minor_units(amount, scale=scale)


NOT_AMOUNTS = [1.5, 0.1, 150, True, None, "NaN", "Infinity", "1e3", "1_000", "+5", ""]
NOT_AMOUNTS += [" 1", "\u0661\u0662", "1.", ".5"]  # whitespace, Arabic-Indic digits, halves


@pytest.mark.parametrize("amount", NOT_AMOUNTS)
def test_anything_but_a_decimal_string_or_decimal_is_refused(amount):
    with pytest.raises(ValidationFailed):
        to_minor_units(amount, scale=2)


def test_an_amount_beyond_a_bigint_is_refused():
    with pytest.raises(ValidationFailed, match="too large"):
        to_minor_units("92233720368547758.08", scale=2)


def test_precision_is_never_lost_silently():
    with pytest.raises(ValidationFailed):
        to_minor_units(Decimal("1." + "0" * 100 + "1"), scale=2)


class _Amounts(serializers.Serializer):
    amount = DecimalStringField()
    adjustment = DecimalStringField(positive=False, required=False)


@pytest.mark.parametrize(("sent", "kept"), [("1500.50", "1500.50"), ("0.01", "0.01")])
def test_the_field_accepts_positive_decimal_strings(sent, kept):
    payload = _Amounts(data={"amount": sent})

    assert payload.is_valid(), payload.errors
    assert payload.validated_data["amount"] == Decimal(kept)


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        (1500.5, "decimal strings"),
        (1500, "decimal strings"),
        (True, "decimal strings"),
        (None, "may not be null"),
        ("0", "greater than zero"),
        ("0.00", "greater than zero"),
        ("-1.00", "greater than zero"),
        ("NaN", "Not a decimal"),
        ("Infinity", "Not a decimal"),
        ("1e3", "Not a decimal"),
        ("1E3", "Not a decimal"),
        ("1_000", "Not a decimal"),
        ("12abc", "Not a decimal"),
        ("1" * 41, "Too many digits"),
    ],
)
def test_the_field_refuses_numbers_zero_negatives_and_odd_strings(sent, message):
    payload = _Amounts(data={"amount": sent})

    assert not payload.is_valid()
    assert message in str(payload.errors["amount"][0])


def test_the_field_allows_negatives_where_told_to():
    payload = _Amounts(data={"amount": "1", "adjustment": "-25.10"})

    assert payload.is_valid(), payload.errors
    assert payload.validated_data["adjustment"] == Decimal("-25.10")


def test_the_field_writes_a_string():
    assert _Amounts({"amount": Decimal("1500.50")}).data == {"amount": "1500.50"}


def test_amounts_for_people_are_grouped_by_thousands():
    from core.money import format_grouped

    assert format_grouped(200_000_000, scale=2) == "2,000,000.00"
    assert format_grouped(-123_456_7, scale=0) == "-1,234,567"
    assert format_grouped(5, scale=3) == "0.005"
    assert format_grouped(1, scale=8) == "0.00000001"  # not 1E-8
    assert format_grouped(0, scale=8) == "0.00000000"


@pytest.mark.parametrize(
    "typed, scale, minor",
    [
        ("5,000.00", 2, 500_000),
        ("5000.00", 2, 500_000),
        ("1,234,567.5", 2, 123_456_750),
        (" 12,000 ", 0, 12_000),
        ("999", 2, 99_900),
    ],
)
def test_staff_may_type_amounts_grouped_as_the_console_shows_them(typed, scale, minor):
    assert staff_amount_to_minor_units(typed, scale=scale) == minor


@pytest.mark.parametrize(
    "typed", ["5,00.00", "5.000,00", ",500", "5,0000", "1,234.5.6", "5,000.001"]
)
def test_misgrouped_amounts_are_refused_not_guessed(typed):
    with pytest.raises(ValidationFailed):
        staff_amount_to_minor_units(typed, scale=2)
