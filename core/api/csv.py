"""CSV downloads of the partner API: chosen with `Accept: text/csv` or `?format=csv`,
streamed row by row (a whole period, not a page). Errors stay the JSON envelope."""

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from rest_framework.renderers import BaseRenderer

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class CSVRenderer(BaseRenderer):
    """Makes text/csv negotiable; the view streams the body itself (csv_streaming_response),
    so this renders only what DRF hands it outside a download: nothing."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return b""


def wants_csv(request) -> bool:
    return getattr(request, "accepted_renderer", None) is not None and (
        request.accepted_renderer.format == CSVRenderer.format
    )


def text_cell(value: str) -> str:
    """Free text a partner typed (a reference), safe to open in a spreadsheet."""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


class _Echo:
    def write(self, value):
        return value


def csv_rows(rows: Iterable[Iterable]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow(row)


def csv_streaming_response(rows: Iterable[Iterable], *, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_rows(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
