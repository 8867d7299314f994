"""A batch's items and their outcomes."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.exceptions import plain_errors
from core.api.prebuilt_fields import PrebuiltFieldsMixin
from ledger.api.serializers.transfers import TransferInputSerializer, TransferSerializer
from ledger.errors import error_result
from ledger.posting import TransferRequest
from ledger.selectors import assets_by_code


class BatchItemResultSerializer(PrebuiltFieldsMixin, serializers.Serializer):
    """One item's outcome; `code`/`reason`/`message`/`details` only when it failed, and
    `transfer` only when it was created or replayed."""

    index = serializers.IntegerField(help_text="Position of the item in `transfers`.")
    id = serializers.UUIDField(allow_null=True, help_text="The transfer's id, if known.")
    status = serializers.CharField(help_text="created, replayed or failed.")
    code = serializers.CharField(required=False, help_text="The error code, as for a request.")
    reason = serializers.CharField(required=False, help_text="The precise cause.")
    message = serializers.CharField(required=False)
    details = serializers.DictField(required=False)
    transfer = TransferSerializer(required=False)


def batch_item_result(
    *, index: int, request, result=None, errors: dict | None = None, context=None
) -> dict:
    """JSON-ready outcome of one batch item: a BatchItemResult of the service, or the item's
    validation errors (when it never reached the service)."""
    transfer_id = str(request.id) if getattr(request, "id", None) else None
    if errors is not None:
        return {
            "index": index,
            "id": transfer_id,
            "status": "failed",
            "code": "validation_error",
            "reason": "validation_error",
            "message": "Invalid input.",
            "details": errors,
        }
    if result.error is not None:
        exc = result.error
        details = {key: value for key, value in exc.details.items() if key != "reason"}
        return {
            "index": index,
            "id": transfer_id,
            "status": "failed",
            **error_result(exc),
            "details": details,
        }
    return {
        "index": index,
        "id": str(result.transfer.pk),
        "status": "replayed" if result.replayed else "created",
        "transfer": TransferSerializer(result.transfer, context=context or {}).data,
    }


@extend_schema_field(
    {
        "type": "array",
        "items": {},
        "description": "Each a TransferInput. In an atomic batch any invalid item is a 400; "
        "in an independent one an invalid item (whatever it is) fails alone, in its result.",
    }
)
class TransferItemsField(serializers.ListField):
    """A batch's transfers, parsed one by one later (transfer_requests_parse), so that in an
    independent batch an invalid item fails alone. The batch's schema_constraints type the
    items of an atomic batch."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.JSONField(allow_null=True), **kwargs)


def transfer_requests_parse(items: list) -> tuple[list[TransferRequest | dict], dict]:
    """Each item of a batch as a TransferRequest, or as its validation errors; and the
    assets named, by code."""
    codes = [item.get("asset") for item in items if isinstance(item, dict)]
    assets = assets_by_code(codes=[code for code in codes if isinstance(code, str)])
    parsed = []
    for item in items:
        serializer = TransferInputSerializer(data=item, context={"assets": assets})
        if serializer.is_valid():
            parsed.append(TransferInputSerializer.transfer_request(serializer.validated_data))
        else:
            parsed.append(plain_errors(serializer.errors))
    return parsed, assets
