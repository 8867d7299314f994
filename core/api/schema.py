"""OpenAPI generation (drf-spectacular) tuned to the house style, and made the contract.

Every operation nests its own `InputSerializer` / `OutputSerializer`, so the component name
comes from the enclosing view: `TokenObtainApi.InputSerializer` -> `TokenObtainInput`.

What the schema states for every operation without the view repeating it:
- request bodies refuse unknown fields (`additionalProperties: false`), as the
  serializer base class does (core.api.serializers.RequestSerializer);
- every status the operation can answer, each with the one error envelope (`Error`) as
  body: 400 always (any query parameter or body may be hostile text), 401 where a token is
  needed, 404 where the path names a resource, 429 where it is throttled, 409 and 422 where
  an Idempotency-Key is taken, plus what the view declares its services raise
  (`Api.error_statuses`, or `error_responses(...)` in its `@extend_schema`);
- the Idempotency-Key header on every handler wrapped in `@idempotent`.
"""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from core.api.fields import MAX_METADATA_DEPTH, UUID_PATTERN
from core.api.idempotency import KEY_PATTERN
from core.money import DECIMAL_PATTERN, MAX_DECIMAL_STRING_LENGTH, POSITIVE_DECIMAL_PATTERN

# Money, prices and quantities: decimal strings, never JSON numbers.
DECIMAL_STRING = {
    "type": "string",
    "format": "decimal",
    "pattern": DECIMAL_PATTERN,
    "maxLength": MAX_DECIMAL_STRING_LENGTH + 1,
    "example": "1500.50",
}
POSITIVE_DECIMAL_STRING = {
    **DECIMAL_STRING,
    "pattern": POSITIVE_DECIMAL_PATTERN,
    "maxLength": MAX_DECIMAL_STRING_LENGTH,
}
UUID_STRING = {"type": "string", "format": "uuid", "pattern": UUID_PATTERN}


class ErrorEnvelopeSerializer(serializers.Serializer):
    """The body of every error, 4xx and 5xx alike."""

    code = serializers.CharField(help_text="Machine-readable: validation_error, conflict...")
    message = serializers.CharField(help_text="For people; do not parse it.")
    details = serializers.DictField(
        help_text="validation_error: each field (path) -> its messages; otherwise the "
        "error's own facts (e.g. reason)."
    )
    trace_id = serializers.CharField(help_text="Quote it to support; also in X-Trace-ID.")


ERROR_RESPONSES = {
    400: "validation_error: details maps each field to its messages",
    401: "not_authenticated: no token, or an expired, revoked or wrong kind of token",
    403: "permission_denied",
    404: "not_found: no such resource, or not yours",
    409: "conflict (details.reason says why) or idempotency_in_progress",
    422: "insufficient_funds, account_frozen, risk_rejected or idempotency_key_reused",
    429: "throttled: retry after Retry-After seconds",
    503: "service_unavailable: retry after Retry-After seconds",
}


def error_responses(*statuses: int) -> dict:
    """Error responses for @extend_schema; the schema gives each the envelope as body."""
    return {s: OpenApiResponse(description=ERROR_RESPONSES[s]) for s in statuses}


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": KEY_PATTERN},
    OpenApiParameter.HEADER,
    required=False,
    description="Same key and body within 24 h: the first answer again "
    "(Idempotent-Replayed: true). Up to 255 characters, scoped to the partner.",
)


class AutoSchema(SpectacularAutoSchema):
    def get_serializer_name(self, serializer, direction) -> str:
        qualname = serializer.__class__.__qualname__
        if "." not in qualname:
            return super().get_serializer_name(serializer, direction)
        parts = [_strip_suffix(part) for part in qualname.split(".") if part != "<locals>"]
        return "".join(parts)

    def _map_basic_serializer(self, serializer, direction):
        from core.api.serializers import RequestSerializer

        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(serializer, RequestSerializer):
            schema["additionalProperties"] = False
            schema.update(serializer.schema_constraints)
        if direction == "request":
            for field_schema in schema.get("properties", {}).values():
                _text_without_nul(field_schema)
        return schema

    def _get_parameters(self):
        parameters = super()._get_parameters()
        for parameter in parameters:
            if "schema" in parameter:
                _text_without_nul(parameter["schema"])
        return parameters

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self._is_idempotent() and all(
            getattr(p, "name", None) != IDEMPOTENCY_KEY.name for p in parameters
        ):
            parameters.append(IDEMPOTENCY_KEY)
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        envelope = {"application/json": {"schema": self._error_envelope_ref()}}
        for status in self._error_statuses():
            responses.setdefault(str(status), {"description": ERROR_RESPONSES[status]})
        for status, response in responses.items():
            if int(status) >= 400:
                response["content"] = envelope
        return dict(sorted(responses.items()))

    def _error_envelope_ref(self):
        return self.resolve_serializer(ErrorEnvelopeSerializer, "response").ref

    def _error_statuses(self) -> set[int]:
        """What this operation can answer besides its successes, from the view itself."""
        view = self.view
        statuses = {400, *getattr(view, "error_statuses", ())}
        if view.get_authenticators() and view.get_permissions():
            statuses.add(401)
        if "{" in self.path:
            statuses.add(404)
        if view.get_throttles():
            statuses.add(429)
        if self._is_idempotent():
            statuses |= {409, 422}
        return statuses

    def _is_idempotent(self) -> bool:
        handler = getattr(self.view, self.method.lower(), None)
        return bool(getattr(handler, "idempotent", False))


# What the parser and the views' base class refuse in any text (core.api.parsers).
TEXT_WITHOUT_NUL = r"^[^\x00]*$"
# A filter's value: text without NUL that is not only whitespace (core.api.filters refuses
# a blank one, which would filter nothing).
FILTER_TEXT = {"type": "string", "minLength": 1, "pattern": r"^[^\x00]*[^\s\x00][^\x00]*$"}


def _text_without_nul(schema: dict) -> dict:
    """Free text in a request: the schema says it cannot hold NUL (a pattern, format or
    enum of its own already says more)."""
    if schema.get("type") == "string" and not schema.keys() & {"pattern", "format", "enum"}:
        schema["pattern"] = TEXT_WITHOUT_NUL
    return schema


def _strip_suffix(name: str) -> str:
    for suffix in ("Serializer", "Api"):
        if name.endswith(suffix) and name != suffix:
            return name[: -len(suffix)]
    return name


class MetadataFieldExtension(OpenApiSerializerFieldExtension):
    """A client's metadata: a JSON object of what the journal keeps exactly (text without
    NUL, whole numbers, booleans, null, and lists and objects of these; core.api.fields)."""

    target_class = "core.api.fields.MetadataField"

    def map_serializer_field(self, auto_schema, direction):
        value = ResolvedComponent(
            name="MetadataValue",
            type=ResolvedComponent.SCHEMA,
            object="MetadataValue",
            schema={
                "nullable": True,
                "anyOf": [
                    {"type": "string", "pattern": TEXT_WITHOUT_NUL},
                    {"type": "integer"},
                    {"type": "boolean"},
                    {"type": "array", "items": {"$ref": "#/components/schemas/MetadataValue"}},
                    {
                        "type": "object",
                        "additionalProperties": {"$ref": "#/components/schemas/MetadataValue"},
                    },
                ],
            },
        )
        auto_schema.registry.register_on_missing(value)
        return {
            "type": "object",
            "additionalProperties": value.ref,
            # OpenAPI 3.0 has no propertyNames: the keys' rule is in words.
            "description": f"Your own JSON, kept as sent: at most {self.target.max_bytes} bytes,"
            f" nested at most {MAX_METADATA_DEPTH} levels; no fractional numbers; no NUL in "
            "keys or text.",
        }


class PartnerJWTScheme(SimpleJWTScheme):
    """Our JWT authentication is simplejwt's plus the token store: the same Bearer scheme."""

    target_class = "core.api.authentication.PartnerJWTAuthentication"
