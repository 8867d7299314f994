"""The base of every request body's serializer: what a client sends is read exactly.

- A field the operation does not define is a 400 naming it (a misspelt `"pendng": true`
  must never post money at once); the schema says so (`additionalProperties: false`).
- Each value has the JSON type the schema gives it: `true`/`false` for a boolean (DRF's
  own also reads "yes", "on" and 1 as true), a JSON integer for an integer (not "5" or
  5.0), a string for text (not 5). DRF coerces these silently.

- Text is taken as sent: no surrounding whitespace is trimmed (DRF trims by default, so
  " " passed a schema's minLength and then failed as blank).
- `schema_constraints`, when a serializer sets it, is JSON Schema the schema adds to the
  request body for rules between fields (e.g. a timeout only on a pending transfer).

Query strings have their own base, QuerySerializer: every value there is text, and other
parameters (a page's limit) may sit beside the serializer's own.
"""

from collections.abc import Mapping

from rest_framework import serializers

from core.api.prebuilt_fields import PrebuiltFieldsMixin

UNKNOWN_FIELD = "Unknown field: this operation does not take it."


class RequestSerializer(PrebuiltFieldsMixin, serializers.Serializer):
    schema_constraints: dict = {}

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            if isinstance(field, serializers.CharField):
                field.trim_whitespace = False
        return fields

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            return super().to_internal_value(data)  # DRF's own "expected an object" error
        fields = {field.field_name: field for field in self._writable_fields}
        errors = {key: [UNKNOWN_FIELD] for key in data if key not in fields}
        for name, field in fields.items():
            if name in data and (problem := json_type_problem(field, data[name])):
                errors[name] = [problem]
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, Mapping):
                raise
            raise serializers.ValidationError({**exc.detail, **errors}) from exc
        if errors:
            raise serializers.ValidationError(errors)
        return value


def json_type_problem(field: serializers.Field, value) -> str | None:
    """Why `value` is not of the JSON type `field` documents, or None (None itself is left
    to the field, which knows whether it is nullable)."""
    if value is None:
        return None
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else "Must be JSON true or false."
    if isinstance(field, serializers.IntegerField):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "Must be a JSON integer."
    textual = (
        serializers.CharField,
        serializers.ChoiceField,
        serializers.UUIDField,
        serializers.DateTimeField,
        serializers.DateField,
    )
    if isinstance(field, textual):
        return None if isinstance(value, str) else "Must be a JSON string."
    if isinstance(field, serializers.DictField):
        return None if isinstance(value, dict) else "Must be a JSON object."
    return None


class QuerySerializer(PrebuiltFieldsMixin, serializers.Serializer):
    """Query parameters. An empty value (`?as_of=`) is refused, not read as absent: it
    matches none of the formats the schema gives."""

    def to_internal_value(self, data):
        empty = {
            field.field_name: ["May not be empty."]
            for field in self._writable_fields
            if data.get(field.field_name) == ""
        }
        if empty:
            raise serializers.ValidationError(empty)
        return super().to_internal_value(data)
