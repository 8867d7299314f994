"""OpenAPI generation (drf-spectacular) tuned to the house style.

Every operation nests its own `InputSerializer` / `OutputSerializer`, so the component name
comes from the enclosing view: `TokenObtainApi.InputSerializer` -> `TokenObtainInput`.
"""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse


class AutoSchema(SpectacularAutoSchema):
    def get_serializer_name(self, serializer, direction) -> str:
        qualname = serializer.__class__.__qualname__
        if "." not in qualname:
            return super().get_serializer_name(serializer, direction)
        parts = [_strip_suffix(part) for part in qualname.split(".") if part != "<locals>"]
        return "".join(parts)


def _strip_suffix(name: str) -> str:
    for suffix in ("Serializer", "Api"):
        if name.endswith(suffix) and name != suffix:
            return name[: -len(suffix)]
    return name


class PartnerJWTScheme(SimpleJWTScheme):
    """Our JWT authentication is simplejwt's plus the token store: the same Bearer scheme."""

    target_class = "core.api.authentication.PartnerJWTAuthentication"


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Same key and body within 24 h: the first answer again "
    "(Idempotent-Replayed: true). Up to 255 characters, scoped to the partner.",
)


ERROR_RESPONSES = {
    400: "validation_error: details maps each field to its messages",
    403: "permission_denied",
    404: "not_found: no such resource, or not yours",
    409: "conflict (details.reason says why) or idempotency_in_progress",
    422: "insufficient_funds, account_frozen or idempotency_key_reused",
    503: "service_unavailable: overloaded or down (an instrument's matcher); Retry-After",
}


def error_responses(*statuses: int) -> dict:
    """Error responses for the schema: each has the body {code, message, details, trace_id}."""
    return {s: OpenApiResponse(description=ERROR_RESPONSES[s]) for s in statuses}
