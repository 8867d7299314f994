"""Transfers: create, list, detail, and posting or voiding a pending transfer."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from core.api.base import PartnerApi
from core.api.fields import ClientIdField
from core.api.filters import filtered
from core.api.idempotency import idempotent
from core.api.pagination import (
    PAGINATION_PARAMETERS,
    CursorPagination,
    paginated_response,
    paginated_schema,
)
from core.api.schema import IDEMPOTENCY_KEY, error_responses
from core.api.serializers import RequestSerializer
from ledger.api.filters import TransferFilter
from ledger.api.schema import TAGS
from ledger.api.serializers import (
    AmountInputField,
    TransferInputSerializer,
    TransferResolutionSerializer,
    TransferSerializer,
    minor_units,
)
from ledger.models import Transfer
from ledger.selectors import transfer_get, transfer_list
from ledger.services import pending_transfer_post, pending_transfer_void
from risk.services import transfer_submit


class TransferListApi(PartnerApi):
    @extend_schema(
        operation_id="ledger_transfers_list",
        parameters=[
            OpenApiParameter("account", OpenApiTypes.UUID, description="Debited or credited."),
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                enum=["posted", "pending", "voided", "expired", "held", "rejected"],
            ),
            OpenApiParameter(
                "created_after", OpenApiTypes.DATETIME, description="At or after (ISO 8601)."
            ),
            OpenApiParameter(
                "created_before", OpenApiTypes.DATETIME, description="Before (ISO 8601)."
            ),
            *PAGINATION_PARAMETERS,
        ],
        responses={200: paginated_schema("PaginatedTransferList", TransferSerializer)},
        tags=TAGS,
    )
    def get(self, request, *args, **kwargs):
        """Transfers debiting or crediting one of the partner's accounts, newest first."""
        transfers = filtered(
            TransferFilter,
            params=request.query_params,
            queryset=transfer_list(partner=self.partner),
        )
        return paginated_response(
            request=request,
            view=self,
            queryset=transfers,
            serializer_class=TransferSerializer,
            pagination_class=CursorPagination,
            context={"partner": self.partner},
        )


class TransferCreateApi(PartnerApi):
    InputSerializer = TransferInputSerializer

    @extend_schema(
        operation_id="ledger_transfers_create",
        request=TransferInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: TransferSerializer,
            200: OpenApiResponse(TransferSerializer, description="The `id` existed: a replay."),
            202: OpenApiResponse(
                TransferSerializer,
                description='Risk sent it to review: `"status": "held"`, its amount reserved.',
            ),
            **error_responses(400, 404, 409, 422),
        },
        tags=TAGS,
    )
    @idempotent
    def post(self, request, *args, **kwargs):
        """Move money from one of the partner's accounts to any open account of the asset.

        With a client `id` the transfer is applied at most once: the same id and body again
        answers 200 with the transfer as it is now; the same id with another body is a 409.
        """
        payload = TransferCreateApi.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        transfer_request = TransferInputSerializer.transfer_request(payload.validated_data)
        result = transfer_submit(
            request=transfer_request, partner=self.partner, acting_user=request.user
        )
        if result.rejection is not None:  # answered, not raised: the Decision must stay
            return self.handle_exception(result.rejection)
        answer = status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED
        answer = status.HTTP_202_ACCEPTED if result.held and not result.replayed else answer
        # The service let this partner debit the account, so it is the partner's own: its
        # metadata is the caller's, with no query to find out.
        own = frozenset({result.transfer.debit_account_id})
        context = {"partner": self.partner, "own_account_ids": own}
        data = TransferSerializer(result.transfer, context=context).data
        return Response(data, status=answer)


class TransferCollectionApi(TransferListApi, TransferCreateApi):
    """GET lists, POST creates: two operations sharing one path."""


class TransferDetailApi(PartnerApi):
    @extend_schema(
        operation_id="ledger_transfers_retrieve",
        responses={200: TransferSerializer, **error_responses(404)},
        tags=TAGS,
    )
    def get(self, request, transfer_id, *args, **kwargs):
        transfer = transfer_get(partner=self.partner, transfer_id=transfer_id)
        return Response(TransferSerializer(transfer, context={"partner": self.partner}).data)


class TransferPostApi(PartnerApi):
    """Post a pending transfer, fully or (with `amount`) partly: the rest is released."""

    class InputSerializer(RequestSerializer):
        id = ClientIdField(
            required=False,
            help_text="Client-chosen random id (UUID v4 or v7) of the posting transfer "
            "(idempotent).",
        )
        amount = AmountInputField(required=False, help_text="At most the pending amount.")

        def validate(self, attrs):
            if "amount" in attrs:
                attrs["amount"] = minor_units(attrs["amount"], asset=self.context["asset"])
            return attrs

    @extend_schema(
        operation_id="ledger_transfers_post",
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            200: TransferResolutionSerializer,
            **error_responses(400, 403, 404, 409, 422),
        },
        tags=TAGS,
    )
    @idempotent
    def post(self, request, transfer_id, *args, **kwargs):
        pending = transfer_get(partner=self.partner, transfer_id=transfer_id)
        payload = self.InputSerializer(data=request.data, context={"asset": pending.asset})
        payload.is_valid(raise_exception=True)
        transfer = pending_transfer_post(
            pending_id=pending.pk,
            amount=payload.validated_data.get("amount"),
            transfer_id=payload.validated_data.get("id"),
            partner=self.partner,
            acting_user=request.user,
            origin=Transfer.Origin.PARTNER_API,
        )
        return Response(
            TransferResolutionSerializer(transfer, context={"partner": self.partner}).data
        )


class TransferVoidApi(PartnerApi):
    """Void a pending transfer: its whole reservation is released."""

    class InputSerializer(RequestSerializer):
        id = ClientIdField(
            required=False,
            help_text="Client-chosen random id (UUID v4 or v7) of the voiding transfer "
            "(idempotent).",
        )

    @extend_schema(
        operation_id="ledger_transfers_void",
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: TransferResolutionSerializer, **error_responses(400, 403, 404, 409, 422)},
        tags=TAGS,
    )
    @idempotent
    def post(self, request, transfer_id, *args, **kwargs):
        pending = transfer_get(partner=self.partner, transfer_id=transfer_id)
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        transfer = pending_transfer_void(
            pending_id=pending.pk,
            transfer_id=payload.validated_data.get("id"),
            partner=self.partner,
            acting_user=request.user,
            origin=Transfer.Origin.PARTNER_API,
        )
        return Response(
            TransferResolutionSerializer(transfer, context={"partner": self.partner}).data
        )
