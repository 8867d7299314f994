"""The partner's fills and positions."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from core.api.base import PartnerApi
from core.api.filters import filtered
from core.api.pagination import (
    PAGINATION_PARAMETERS,
    CursorPagination,
    paginated_response,
    paginated_schema,
)
from trading.api.filters import TradeFilter
from trading.api.schema import SYMBOL_SCHEMA, TAGS
from trading.api.serializers import PositionSerializer, TradeSerializer
from trading.selectors import position_list, trade_list


class TradeCursorPagination(CursorPagination):
    ordering = ("-executed_at", "-id")


class TradeListApi(PartnerApi):
    @extend_schema(
        operation_id="trading_trades_list",
        parameters=[
            OpenApiParameter("symbol", SYMBOL_SCHEMA, description='"ACME/USD" or "ACME-USD"'),
            *PAGINATION_PARAMETERS,
        ],
        responses={200: paginated_schema("PaginatedTradeList", TradeSerializer)},
        tags=TAGS,
    )
    def get(self, request, *args, **kwargs):
        """The partner's fills, newest first: `side` and `order` are the partner's."""
        trades = filtered(
            TradeFilter, params=request.query_params, queryset=trade_list(partner=self.partner)
        )
        return paginated_response(
            request=request,
            view=self,
            queryset=trades,
            serializer_class=TradeSerializer,
            pagination_class=TradeCursorPagination,
        )


class PositionListApi(PartnerApi):
    @extend_schema(
        operation_id="trading_positions_list",
        responses={200: PositionSerializer(many=True)},
        tags=TAGS,
    )
    def get(self, request, *args, **kwargs):
        """Per instrument: settled quantity in the ledger, bought and sold but not yet
        settled, open buy and sell quantity, and the cash its buy orders hold."""
        return Response(PositionSerializer(position_list(partner=self.partner), many=True).data)
