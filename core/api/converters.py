"""Path converters of the API. An id in a path is read as in a body (core.api.fields):
the dashed form, any case. Django's own `uuid` converter takes lowercase only, so an id a
client uppercased worked in a body and was a 404 in a path."""

import uuid

from django.urls import register_converter

from core.api.fields import UUID_PATTERN


class AnyCaseUUIDConverter:
    regex = UUID_PATTERN.removeprefix("^").removesuffix("$")

    def to_python(self, value: str) -> uuid.UUID:
        return uuid.UUID(value)

    def to_url(self, value) -> str:
        return str(value)


register_converter(AnyCaseUUIDConverter, "api_uuid")
