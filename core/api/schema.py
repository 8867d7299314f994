"""OpenAPI generation (drf-spectacular) tuned to the house style.

Every operation nests its own `InputSerializer` / `OutputSerializer`, so the component name
comes from the enclosing view: `TokenObtainApi.InputSerializer` -> `TokenObtainInput`.
"""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


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
