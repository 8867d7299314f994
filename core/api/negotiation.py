"""The partner API speaks JSON only (API.md: "JSON in and out")."""

from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation


class JSONOnlyNegotiation(DefaultContentNegotiation):
    """Where the Accept header names nothing a view renders (a browser's text/html, an
    application/xml), the view's first renderer answers (JSON on the partner API) rather
    than a 406 the contract does not know. Views with several renderers (the OpenAPI
    schema: YAML or JSON) still choose as DRF does.

    No Accept header, `*/*` or the first renderer's own media type (what API clients send)
    is answered without DRF's parsing and ranking of media types, with what it would pick:
    the first renderer and its media type."""

    def select_renderer(self, request, renderers, format_suffix=None):
        first = renderers[0]
        if request.META.get("HTTP_ACCEPT", "*/*") in ("*/*", first.media_type) and not (
            format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        ):
            return first, first.media_type
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            renderer = renderers[0]
            return renderer, renderer.media_type
