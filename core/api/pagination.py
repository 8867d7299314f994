"""Cursor pagination for every partner list: {"next", "previous", "results"}, stable while
new rows arrive, `limit` up to 500 — and its shape in the OpenAPI schema."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import pagination, serializers
from rest_framework.response import Response


class CursorPagination(pagination.CursorPagination):
    page_size_query_param = "limit"
    page_size = settings.API_PAGE_SIZE
    max_page_size = settings.API_MAX_PAGE_SIZE
    # Rows written together (a batch) share created_at: the id breaks the tie.
    ordering = ("-created_at", "-id")


PAGINATION_PARAMETERS = [
    OpenApiParameter(
        "cursor", OpenApiTypes.STR, OpenApiParameter.QUERY, description="From next/previous."
    ),
    OpenApiParameter(
        "limit",
        OpenApiTypes.INT,
        OpenApiParameter.QUERY,
        description=f"Page size: {settings.API_PAGE_SIZE}, at most {settings.API_MAX_PAGE_SIZE}.",
    ),
]


def paginated_schema(name: str, serializer_class) -> serializers.Serializer:
    return inline_serializer(
        name,
        {
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer_class(many=True),
        },
    )


def paginated_response(
    *, request, view, queryset, serializer_class, pagination_class=CursorPagination, context=None
) -> Response:
    paginator = pagination_class()
    page = paginator.paginate_queryset(queryset, request, view=view)
    data = serializer_class(page, many=True, context=context or {}).data
    return paginator.get_paginated_response(data)
