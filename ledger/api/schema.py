import contextlib

from django.db import DatabaseError
from drf_spectacular.extensions import OpenApiSerializerFieldExtension

TAGS = ["ledger"]


class AssetCodeFieldExtension(OpenApiSerializerFieldExtension):
    """An asset in a request body: one of the assets that exist (read from the database
    when the schema is made), in any case."""

    target_class = "ledger.api.serializers.fields.AssetCodeField"

    def map_serializer_field(self, auto_schema, direction):
        from ledger.models import Asset

        schema = {
            "type": "string",
            "maxLength": 16,
            "description": "An asset's code; any case is read (usd is USD).",
        }
        # Without a database (a schema made offline) any code, as text.
        with contextlib.suppress(DatabaseError):
            schema["enum"] = list(Asset.objects.order_by("code").values_list("code", flat=True))
        return schema
