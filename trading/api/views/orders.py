"""Orders: place, list, detail, cancel."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from core.api.base import PartnerApi
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
from risk.services import order_rejection
from trading.api.filters import OrderFilter
from trading.api.schema import SYMBOL_SCHEMA, TAGS
from trading.api.serializers import DecimalInputField, OrderSerializer, minor_units_of
from trading.models import Order
from trading.selectors import instrument_get, order_get, order_list
from trading.services.orders import order_cancel, order_place


class OrderListApi(PartnerApi):
    @extend_schema(
        operation_id="trading_orders_list",
        parameters=[
            OpenApiParameter("symbol", SYMBOL_SCHEMA, description='"ACME/USD" or "ACME-USD"'),
            OpenApiParameter("status", OpenApiTypes.STR, enum=list(Order.Status.values)),
            *PAGINATION_PARAMETERS,
        ],
        responses={200: paginated_schema("PaginatedOrderList", OrderSerializer)},
        tags=TAGS,
    )
    def get(self, request, *args, **kwargs):
        """The partner's orders, newest first."""
        orders = filtered(
            OrderFilter, params=request.query_params, queryset=order_list(partner=self.partner)
        )
        return paginated_response(
            request=request,
            view=self,
            queryset=orders,
            serializer_class=OrderSerializer,
            pagination_class=CursorPagination,
        )


class OrderCreateApi(PartnerApi):
    error_statuses = (409, 422, 503)

    class InputSerializer(RequestSerializer):
        client_order_id = serializers.CharField(max_length=64, help_text="Unique per partner.")
        symbol = serializers.CharField(max_length=32)
        side = serializers.ChoiceField(choices=Order.Side.choices)
        type = serializers.ChoiceField(choices=Order.Type.choices)
        time_in_force = serializers.ChoiceField(choices=Order.TimeInForce.choices)
        price = DecimalInputField(required=False, help_text="Limit orders only.")
        quantity = DecimalInputField()

    @extend_schema(
        operation_id="trading_orders_create",
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: OrderSerializer,
            200: OpenApiResponse(
                OrderSerializer, description="The client_order_id existed: a replay."
            ),
            **error_responses(400, 404, 409, 422, 503),
        },
        tags=TAGS,
    )
    @idempotent
    def post(self, request, *args, **kwargs):
        """Place an order: its funds are held in the ledger (a buy's cash, a sell's
        instrument) until it ends or settles. 201 with the order as it stands: accepted,
        or filled / partially_filled when matched at once; held or rejected by risk.

        The same client_order_id and order again answers 200 with the order as it is now;
        the same client_order_id with another order is a 409. A halted instrument is a
        409; a full queue or a silent matcher a 503 with Retry-After."""
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        instrument = instrument_get(symbol=data["symbol"])
        price = data.get("price")
        placed = order_place(
            partner=self.partner,
            instrument=instrument,
            client_order_id=data["client_order_id"],
            side=data["side"],
            type=data["type"],
            time_in_force=data["time_in_force"],
            price=None
            if price is None
            else minor_units_of(price, scale=instrument.quote_asset.scale, field="price"),
            quantity=minor_units_of(
                data["quantity"], scale=instrument.base_asset.scale, field="quantity"
            ),
            acting_user=request.user,
        )
        rejection = order_rejection(placed.order)
        if rejection is not None:  # answered, not raised: the order and its Decision stay
            return self.handle_exception(rejection)
        answer = status.HTTP_200_OK if placed.replayed else status.HTTP_201_CREATED
        return Response(OrderSerializer(placed.order).data, status=answer)


class OrderCollectionApi(OrderListApi, OrderCreateApi):
    """GET lists, POST places: two operations sharing one path."""


class OrderDetailApi(PartnerApi):
    @extend_schema(
        operation_id="trading_orders_retrieve",
        responses={200: OrderSerializer, **error_responses(404)},
        tags=TAGS,
    )
    def get(self, request, order_id, *args, **kwargs):
        return Response(OrderSerializer(order_get(partner=self.partner, order_id=order_id)).data)


class OrderCancelApi(PartnerApi):
    error_statuses = (409,)

    class InputSerializer(RequestSerializer):
        """No fields: a body, if any, is an empty object (anything in it is a 400)."""

    @extend_schema(
        operation_id="trading_orders_cancel",
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: OrderSerializer, **error_responses(404, 409)},
        tags=TAGS,
    )
    @idempotent
    def post(self, request, order_id, *args, **kwargs):
        """Cancel an open order: what its fills did not consume is released at once.
        409 conflict when it is filled, cancelled, rejected or expired."""
        self.InputSerializer(data=request.data).is_valid(raise_exception=True)
        order = order_get(partner=self.partner, order_id=order_id)
        cancelled = order_cancel(order=order, acting_user=request.user, reason="partner")
        return Response(
            OrderSerializer(order_get(partner=self.partner, order_id=cancelled.pk)).data
        )
