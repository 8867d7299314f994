from trading.api.views.instruments import InstrumentBookApi, InstrumentListApi
from trading.api.views.orders import (
    OrderCancelApi,
    OrderCollectionApi,
    OrderDetailApi,
)
from trading.api.views.positions import PositionListApi, TradeListApi

__all__ = [
    "InstrumentBookApi",
    "InstrumentListApi",
    "OrderCancelApi",
    "OrderCollectionApi",
    "OrderDetailApi",
    "PositionListApi",
    "TradeListApi",
]
