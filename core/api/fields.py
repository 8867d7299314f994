"""Serializer fields the partner API shares."""

import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework import serializers

MAX_METADATA_DEPTH = 16


class UUIDStringField(serializers.UUIDField):
    """A UUID sent as a string, as API.md says ids are. DRF's own also takes a JSON integer
    (5 becomes 00000000-...-000000000005), which hides a client's bug behind a 404."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class MetadataField(serializers.DictField):
    """A client's own JSON object, kept as sent and hashed into the ledger's journal, so
    only what every database stores and reads back exactly is taken: strings (valid
    Unicode, no NUL), whole numbers, booleans, null, and lists and objects of these.
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
            for key, child in item.items():
                if problem := _string_problem(key):
                    return problem
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            if problem := _string_problem(item):
                return problem
        elif isinstance(item, float):
            return "Numbers must be whole; send a decimal as a string."
        elif not (item is None or isinstance(item, bool | int)):
            return "Not a JSON value."
    return None


def _string_problem(text: str) -> str | None:
    if "\x00" in text:
        return "Strings may not contain NUL characters."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "Strings must be valid Unicode (no lone surrogates)."
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
        try:
            if moment is not None:
                if timezone.is_naive(moment):
                    moment = moment.replace(tzinfo=UTC)
                return moment + timedelta(microseconds=1) if self.end else moment
            if day is not None:
                day += timedelta(days=1) if self.end else timedelta(0)
                zone = ZoneInfo(settings.BUSINESS_TIME_ZONE)
                return datetime.combine(day, time.min, tzinfo=zone)
        except OverflowError:  # the last instant or day of year 9999
            pass
        self.fail("invalid")

    def to_representation(self, value):
        return value.isoformat()
