"""Serializer fields the partner API shares."""

import json
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

MAX_METADATA_DEPTH = 16

# The one spelling of a UUID the API reads, in a path as in a body: 8-4-4-4-12 hex digits,
# any case (read as the lowercase canonical form). DRF's own UUIDField also takes 32 bare
# hex digits, braces and "urn:uuid:", which no path accepts.
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# A client-chosen id must be random (version 4) or time-ordered random (version 7), RFC 9562
# variant: ids are global across the ledger, so a guessable one would collide.
CLIENT_ID_PATTERN = (
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[47][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}"
    r"-[0-9a-fA-F]{12}$"
)


class PatternField(serializers.RegexField):
    """Text matching `regex` as a whole. DRF's RegexField searches, so "abc\n" passes
    `^[a-z]+$` there (Python's `$` matches before a final newline) and fails the same
    pattern in the schema."""

    def __init__(self, regex: str, **kwargs):
        self.whole = re.compile(regex)
        super().__init__(regex, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not self.whole.fullmatch(value):
            self.fail("invalid")
        return value


@extend_schema_field({"type": "string", "format": "uuid", "pattern": UUID_PATTERN})
class UUIDStringField(serializers.UUIDField):
    """A UUID sent as a JSON string in its dashed form, as API.md says ids are. DRF's own
    also takes a JSON integer (5 becomes 00000000-...-000000000005), which hides a client's
    bug behind a 404."""

    pattern = re.compile(UUID_PATTERN)

    def to_internal_value(self, data):
        if not isinstance(data, str) or not self.pattern.fullmatch(data):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "format": "uuid", "pattern": CLIENT_ID_PATTERN})
class ClientIdField(UUIDStringField):
    """A client-chosen id: a random UUID (version 4 or 7)."""

    pattern = re.compile(CLIENT_ID_PATTERN)
    default_error_messages = {"invalid": "Must be a random UUID (version 4 or 7)."}


class MetadataField(serializers.DictField):
    """A client's own JSON object, kept as sent and hashed into the ledger's journal, so
    only what every database stores and reads back exactly is taken: strings (the parser
    has refused NUL and lone surrogates already), whole numbers, booleans, null, and lists
    and objects of these.
    Fractional numbers are refused: PostgreSQL's jsonb rewrites them (1e16, -0.0), and a
    decimal belongs in a string anyway, as amounts are."""

    def __init__(self, *, max_bytes: int, **kwargs):
        self.max_bytes = max_bytes
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        problem = _unstorable(value)
        if problem:
            raise serializers.ValidationError(problem)
        if len(json.dumps(value).encode()) > self.max_bytes:
            raise serializers.ValidationError(f"At most {self.max_bytes} bytes of JSON.")
        return value


def _unstorable(value) -> str | None:
    """Why `value` cannot be kept exactly, or None. Iterative: nesting cannot exhaust the
    stack."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_METADATA_DEPTH:
            return f"Nested more than {MAX_METADATA_DEPTH} levels deep."
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, float):
            return "Numbers must be whole; send a decimal as a string."
        elif not (item is None or isinstance(item, str | bool | int)):
            return "Not a JSON value."
    return None


class PeriodBoundField(serializers.Field):
    """One end of a period, as an exclusive-end window [start, end): an ISO 8601 instant
    (with Z or an offset; none means UTC), or a date (YYYY-MM-DD) meaning that whole
    business day in the firm's time zone. `end=True`: the bound is inclusive, an instant
    counts itself and a date its whole day; the value returned is the first instant after."""

    default_error_messages = {
        "invalid": "Give a date (2026-11-30) or an ISO 8601 instant (2026-11-30T17:00:00Z)."
    }

    def __init__(self, *, end: bool = False, **kwargs):
        self.end = end
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        text = data.strip() if isinstance(data, str) else ""
        try:
            moment = parse_datetime(text) if "T" in text or " " in text else None
            day = None if moment else parse_date(text)
        except ValueError:
            moment = day = None
        if moment is not None:
            if timezone.is_naive(moment):
                moment = moment.replace(tzinfo=UTC)
            return _utc_clamped(moment, later=timedelta(microseconds=1 if self.end else 0))
        if day is not None:
            start = datetime.combine(day, time.min, tzinfo=ZoneInfo(settings.BUSINESS_TIME_ZONE))
            return _utc_clamped(start, later=timedelta(days=1 if self.end else 0))
        self.fail("invalid")

    def to_representation(self, value):
        return value.isoformat()


_EARLIEST, _LATEST = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)


def _utc_clamped(moment: datetime, *, later: timedelta) -> datetime:
    """`moment + later` in UTC; past either end of the calendar (year 1, year 9999), that end:
    a window cannot reach further than all of time."""
    try:
        return moment.astimezone(UTC) + later
    except OverflowError:
        return _EARLIEST if moment.year < 5000 else _LATEST


class UTCInstantField(serializers.DateTimeField):
    """An instant as the API writes them (ISO 8601, UTC, Z), with a four-digit year however
    early: strftime writes the year 800 as "800", which no ISO 8601 reader takes."""

    def to_representation(self, value):
        if value is None:
            return None
        value = value.astimezone(UTC)
        return f"{value.year:04d}" + value.strftime("-%m-%dT%H:%M:%S.%fZ")
