from django.urls import path, register_converter

from trading.api.filters import SYMBOL_PATTERN
from trading.api.views import (
    InstrumentBookApi,
    InstrumentListApi,
    OrderCancelApi,
    OrderCollectionApi,
    OrderDetailApi,
    PositionListApi,
    TradeListApi,
)


class SymbolConverter:
    """An instrument symbol in a path: "ACME-USD", or "ACME/USD" (sent URL-encoded as
    ACME%2FUSD, which the server decodes to a slash before routing)."""

    regex = SYMBOL_PATTERN

    def to_python(self, value: str) -> str:
        return value.replace("-", "/")

    def to_url(self, value: str) -> str:
        return value.replace("/", "-")


register_converter(SymbolConverter, "symbol")

urlpatterns = [
    path("instruments/", InstrumentListApi.as_view(), name="trading-instruments"),
    path(
        "instruments/<symbol:symbol>/book/",
        InstrumentBookApi.as_view(),
        name="trading-instrument-book",
    ),
    path("orders/", OrderCollectionApi.as_view(), name="trading-orders"),
    path("orders/<api_uuid:order_id>/", OrderDetailApi.as_view(), name="trading-order"),
    path(
        "orders/<api_uuid:order_id>/cancel/", OrderCancelApi.as_view(), name="trading-order-cancel"
    ),
    path("trades/", TradeListApi.as_view(), name="trading-trades"),
    path("positions/", PositionListApi.as_view(), name="trading-positions"),
]
