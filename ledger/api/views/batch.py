"""A batch of up to 1,000 transfers, atomic or independent."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from core.api.base import PartnerApi
from core.api.idempotency import idempotent
from core.api.prebuilt_fields import PrebuiltFieldsMixin
from core.api.schema import IDEMPOTENCY_KEY
from core.api.serializers import RequestSerializer
from ledger import errors
from ledger.api.schema import TAGS
from ledger.api.serializers import (
    BatchItemResultSerializer,
    TransferItemsField,
    batch_item_result,
    transfer_requests_parse,
)
from risk.services import transfer_batch_submit

MAX_BATCH = 1000


class TransferBatchApi(PartnerApi):
    """Up to 1,000 transfers in one transaction. `atomic`: all are applied or none (an item
    that fails answers for the batch with its own status and code, e.g. 422
    insufficient_funds, and details.results has every item; an invalid item, a 400).
    `independent`: each item is applied or fails alone, invalid items included."""

    error_statuses = (404, 409, 422)  # an atomic batch answers with its failing item's status

    class InputSerializer(RequestSerializer):
        # An independent batch takes any item (an invalid one fails alone); an atomic one
        # only valid transfers. (Patterns, not enums: drf-spectacular would turn an enum
        # here into a component of its own.)
        schema_constraints = {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {"mode": {"type": "string", "pattern": "^independent$"}},
                },
                {
                    "type": "object",
                    "properties": {
                        "mode": {"type": "string", "pattern": "^atomic$"},
                        "transfers": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/TransferInputRequest"},
                        },
                    },
                },
            ]
        }

        mode = serializers.ChoiceField(choices=["atomic", "independent"])
        transfers = TransferItemsField(min_length=1, max_length=MAX_BATCH)

    class OutputSerializer(PrebuiltFieldsMixin, serializers.Serializer):
        mode = serializers.CharField()
        results = BatchItemResultSerializer(many=True)

    @extend_schema(
        operation_id="ledger_transfers_batch",
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(description="validation_error (atomic: any invalid item)"),
            422: OpenApiResponse(
                description="atomic: the failing transfer's code (insufficient_funds, "
                "account_frozen...); nothing applied; details.results per item"
            ),
        },
        tags=TAGS,
    )
    @idempotent
    def post(self, request, *args, **kwargs):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        mode = payload.validated_data["mode"]
        atomic = mode == "atomic"
        parsed, assets = transfer_requests_parse(payload.validated_data["transfers"])
        invalid = {i: item for i, item in enumerate(parsed) if isinstance(item, dict)}
        if atomic and invalid:
            raise serializers.ValidationError(
                {
                    f"transfers[{i}].{field}": messages
                    for i, item_errors in invalid.items()
                    for field, messages in item_errors.items()
                }
            )
        positions = [i for i in range(len(parsed)) if i not in invalid]
        requests = [parsed[i] for i in positions]
        context = {"assets": assets, "partner": self.partner}
        results = []
        if requests:  # an independent batch of invalid items only has nothing to apply
            try:
                results = transfer_batch_submit(  # each new transfer decided by risk first
                    requests=requests, atomic=atomic, partner=self.partner, acting_user=request.user
                )
            except errors.BatchRejected as exc:  # its results hold exceptions: make them JSON
                raise errors.BatchRejected(
                    results=[
                        batch_item_result(
                            index=positions[r.index], request=requests[r.index], result=r
                        )
                        for r in exc.results
                    ],
                    cause=exc.cause,
                    index=positions[exc.index],
                ) from None
        by_position = {positions[r.index]: r for r in results}
        items = [
            batch_item_result(index=i, request=None, errors=invalid[i])
            if i in invalid
            else batch_item_result(
                index=i, request=parsed[i], result=by_position[i], context=context
            )
            for i in range(len(parsed))
        ]
        return Response({"mode": mode, "results": items})
