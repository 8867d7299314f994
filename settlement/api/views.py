"""The partner's settlement batches (those it has obligations in) and its own obligations."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from core.api.base import PartnerApi
from core.api.pagination import (
    PAGINATION_PARAMETERS,
    CursorPagination,
    paginated_response,
    paginated_schema,
)
from settlement.api.serializers import BatchDetailSerializer, BatchSerializer
from settlement.selectors import batch_get_for_partner, batch_list_for_partner, obligations_of

TAGS = ["settlement"]


class BatchCursorPagination(CursorPagination):
    ordering = ("-opened_at", "-id")


class BatchListApi(PartnerApi):
    @extend_schema(
        operation_id="settlement_batches_list",
        parameters=[*PAGINATION_PARAMETERS],
        responses={200: paginated_schema("PaginatedBatchList", BatchSerializer)},
        tags=TAGS,
    )
    def get(self, request, *args, **kwargs):
        """Batches the partner takes part in, newest first."""
        return paginated_response(
            request=request,
            view=self,
            queryset=batch_list_for_partner(partner=self.partner),
            serializer_class=BatchSerializer,
            pagination_class=BatchCursorPagination,
        )


class BatchDetailApi(PartnerApi):
    @extend_schema(
        operation_id="settlement_batches_retrieve",
        responses={200: BatchDetailSerializer},
        tags=TAGS,
    )
    def get(self, request, batch_id, *args, **kwargs):
        """A batch with the partner's own obligations in it (positive: it receives)."""
        batch = batch_get_for_partner(partner=self.partner, batch_id=batch_id)
        obligations = obligations_of(batch=batch, partner=self.partner)
        return Response(BatchDetailSerializer(batch, context={"obligations": obligations}).data)
