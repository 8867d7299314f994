"""Cursor pagination for every partner list: {"next", "previous", "results"}, stable while
new rows arrive, `limit` up to 500 — and its shape in the OpenAPI schema."""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import exceptions, pagination, serializers
from rest_framework.response import Response

from core.errors import ValidationFailed

POSITION_SEPARATOR = "|"


class CursorPagination(pagination.CursorPagination):
    """DRF's cursor pagination, positioned on the whole ordering key, not its first field.

    DRF keeps only the first field (created_at) in the cursor and counts an offset past the
    rows that share it; rows arriving meanwhile shift that offset and a page repeats (every
    transfer of a batch has one created_at). Here the position is created_at and id
    together, which is unique: a page starts strictly after the last row handed out,
    whatever arrives or shares a timestamp."""

    page_size_query_param = "limit"
    page_size = settings.API_PAGE_SIZE
    max_page_size = settings.API_MAX_PAGE_SIZE
    # Rows written together (a batch) share created_at: the id breaks the tie.
    ordering = ("-created_at", "-id")

    def paginate_queryset(self, queryset, request, view=None):
        # DRF's own, but for the filter on the position (see _after).
        self.request = request
        self._model = queryset.model
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        self.ordering = self.get_ordering(request, queryset, view)
        self.cursor = self.decode_cursor(request)
        offset, reverse, position = self.cursor or (0, False, None)
        ordering = _reversed(self.ordering) if reverse else self.ordering
        queryset = queryset.order_by(*ordering)
        if position is not None:
            queryset = queryset.filter(self._after(position, ordering))
        results = list(queryset[offset : offset + self.page_size + 1])
        self.page = results[: self.page_size]
        following = (
            self._get_position_from_instance(results[-1], self.ordering)
            if len(results) > len(self.page)
            else None
        )
        if reverse:
            self.page.reverse()
            self.has_next = position is not None or offset > 0
            self.has_previous = following is not None
            self.next_position, self.previous_position = position, following
        else:
            self.has_next = following is not None
            self.has_previous = position is not None or offset > 0
            self.next_position, self.previous_position = following, position
        return self.page

    def _after(self, position: str, ordering) -> Q:
        """Rows strictly after `position` in `ordering`: a after, or a equal and b after...;
        the first field's bound stated alone too, so its index narrows the scan."""
        values = position.split(POSITION_SEPARATOR)
        after, equal = Q(pk__in=[]), Q()
        for order, value in zip(ordering, values, strict=True):
            name, op = order.lstrip("-"), "lt" if order.startswith("-") else "gt"
            after |= equal & Q(**{f"{name}__{op}": value})
            equal &= Q(**{name: value})
        first, op = ordering[0].lstrip("-"), "lte" if ordering[0].startswith("-") else "gte"
        return Q(**{f"{first}__{op}": values[0]}) & after

    def _get_position_from_instance(self, instance, ordering):
        return POSITION_SEPARATOR.join(
            str(instance[name] if isinstance(instance, dict) else getattr(instance, name))
            for name in (order.lstrip("-") for order in ordering)
        )

    def parameters_check(self, request, *, model) -> None:
        """Read `limit` and `cursor` as a page would (a 400 for a bad one), for an answer
        that takes the same parameters but is not paginated (a CSV of a whole period)."""
        self._model = model
        self.get_page_size(request)
        self.decode_cursor(request)

    def get_page_size(self, request):
        """`limit` must be a whole number from 1 to the maximum, as the schema says."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationFailed(
                details={"limit": [f"Must be a whole number from 1 to {self.max_page_size}."]}
            )
        return int(raw)

    def decode_cursor(self, request):
        """A cursor is only ever one we handed out: anything else is a 400, never a query
        the database cannot run."""
        try:
            cursor = super().decode_cursor(request)
            if cursor is not None and cursor.position is not None:
                values = cursor.position.split(POSITION_SEPARATOR)
                if len(values) != len(self.ordering):
                    raise ValueError("position does not match the ordering")
                for order, value in zip(self.ordering, values, strict=True):
                    self._model._meta.get_field(order.lstrip("-")).to_python(value)
        except (exceptions.NotFound, DjangoValidationError, ValueError, OverflowError) as exc:
            raise ValidationFailed(
                details={"cursor": ["Invalid cursor: pass next or previous as given."]}
            ) from exc
        return cursor


def _reversed(ordering) -> tuple[str, ...]:
    return tuple(o[1:] if o.startswith("-") else f"-{o}" for o in ordering)


PAGINATION_PARAMETERS = [
    OpenApiParameter(
        "cursor", OpenApiTypes.STR, OpenApiParameter.QUERY, description="From next/previous."
    ),
    OpenApiParameter(
        "limit",
        {
            "type": "integer",
            "minimum": 1,
            "maximum": settings.API_MAX_PAGE_SIZE,
            "default": settings.API_PAGE_SIZE,
        },
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
