from django.conf import settings
from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """{"next", "previous", "results"}; stable while new rows arrive; `limit` up to 500."""

    page_size_query_param = "limit"
    ordering = "-created_at"

    @property
    def page_size(self):
        return settings.API_PAGE_SIZE

    @property
    def max_page_size(self):
        return settings.API_MAX_PAGE_SIZE
