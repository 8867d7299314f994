"""Cursor pagination for every partner list: {"next", "previous", "results"}, stable while
new rows arrive, `limit` up to 500 — and its shape in the OpenAPI schema."""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import exceptions, pagination, serializers
from rest_framework.response import Response

from core.errors import ValidationFailed


class CursorPagination(pagination.CursorPagination):
    page_size_query_param = "limit"
    page_size = settings.API_PAGE_SIZE
    max_page_size = settings.API_MAX_PAGE_SIZE
    # Rows written together (a batch) share created_at: the id breaks the tie.
    ordering = ("-created_at", "-id")

    def paginate_queryset(self, queryset, request, view=None):
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request):
        """`limit` must be a whole number from 1; above the maximum it is the maximum."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
            raise ValidationFailed(details={"limit": ["Must be a whole number from 1."]})
        return min(int(raw), self.max_page_size)

    def decode_cursor(self, request):
        """A cursor is only ever one we handed out: anything else is a 400, never a query
        the database cannot run."""
        try:
            cursor = super().decode_cursor(request)
            if cursor is not None and cursor.position is not None:
                field = self._model._meta.get_field(self.ordering[0].lstrip("-"))
                field.to_python(cursor.position)
        except (exceptions.NotFound, DjangoValidationError, ValueError, OverflowError) as exc:
            raise ValidationFailed(
                details={"cursor": ["Invalid cursor: pass next or previous as given."]}
            ) from exc
        return cursor


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
