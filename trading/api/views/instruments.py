"""Instruments and their book depth."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from core.api.base import PartnerApi
from core.api.schema import error_responses
from core.errors import ValidationFailed
from trading.api.schema import SYMBOL_SCHEMA, TAGS
from trading.api.serializers import InstrumentSerializer, price_text, quantity_text
from trading.selectors import book_depth, instrument_get, instrument_list

MAX_BOOK_LEVELS = 500
DEFAULT_BOOK_LEVELS = 50


class InstrumentListApi(PartnerApi):
    @extend_schema(
        operation_id="trading_instruments_list",
        responses={200: InstrumentSerializer(many=True)},
        tags=TAGS,
    )
    def get(self, request, *args, **kwargs):
        """Every instrument, trading or halted."""
        return Response(InstrumentSerializer(instrument_list(), many=True).data)


LEVELS = serializers.ListField(
    child=serializers.ListField(child=serializers.CharField(), min_length=2, max_length=2)
)


class InstrumentBookApi(PartnerApi):
    @extend_schema(
        operation_id="trading_instruments_book",
        parameters=[
            OpenApiParameter(
                "symbol",
                SYMBOL_SCHEMA,
                OpenApiParameter.PATH,
                description='"ACME-USD", or "ACME/USD" URL-encoded (ACME%2FUSD).',
            ),
            OpenApiParameter(
                "levels",
                {"type": "integer", "minimum": 1},
                description=f"Prices per side: {DEFAULT_BOOK_LEVELS}, at most {MAX_BOOK_LEVELS}.",
            ),
        ],
        responses={
            200: inline_serializer(
                "TradingBook", {"symbol": serializers.CharField(), "bids": LEVELS, "asks": LEVELS}
            ),
            **error_responses(400, 404),
        },
        tags=TAGS,
    )
    def get(self, request, symbol, *args, **kwargs):
        """Resting quantity per price, best first: [["price", "quantity"], ...]."""
        instrument = instrument_get(symbol=symbol)
        depth = book_depth(instrument=instrument, levels=_levels(request))

        def rows(levels):
            return [
                [price_text(price, instrument=instrument), quantity_text(q, instrument=instrument)]
                for price, q in levels
            ]

        return Response(
            {"symbol": instrument.symbol, "bids": rows(depth.bids), "asks": rows(depth.asks)}
        )


def _levels(request) -> int:
    raw = request.query_params.get("levels")
    if raw is None:
        return DEFAULT_BOOK_LEVELS
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
        raise ValidationFailed(details={"levels": ["Must be a whole number from 1."]})
    return min(int(raw), MAX_BOOK_LEVELS)
