import logging
import re
from datetime import UTC, datetime
from http import HTTPStatus

import structlog
from django.conf import settings
from django.http import JsonResponse
from django.middleware.common import CommonMiddleware as DjangoCommonMiddleware
from django.utils.http import http_date

from core.tracing import TRACE_HEADER, trace_id_bind, trace_id_from_header

_API_PATH = re.compile(r"^/api/(?P<version>v\d+)?")
_PARTNER_API_PATH = re.compile(r"^/api/v\d+/")

_TRACE_META = "HTTP_" + TRACE_HEADER.upper().replace("-", "_")
_request_logger = structlog.get_logger("django_structlog.middlewares.request")

_CODES_BY_STATUS = {
    400: "validation_error",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "validation_error",
    415: "validation_error",
    429: "throttled",
}


# Headers that describe the replaced body: the envelope does not inherit them.
_BODY_HEADERS = {"content-type", "content-length", "content-encoding", "content-language"}


def is_api_path(path: str) -> bool:
    return bool(_API_PATH.match(path))


def is_partner_api_path(path: str) -> bool:
    """An operation of a versioned partner API (not the schema or docs pages)."""
    return path.startswith("/api/v") and bool(_PARTNER_API_PATH.match(path))


def error_envelope(*, code: str, message: str, details: dict | None = None, trace_id: str = ""):
    return {"code": code, "message": message, "details": details or {}, "trace_id": trace_id}


class TraceIdMiddleware:
    """Outermost: takes a well-formed X-Trace-ID or makes one, binds it and echoes it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.trace_id = trace_id_from_header(request.META.get(_TRACE_META))
        structlog.contextvars.clear_contextvars()  # a thread's previous request is over
        trace_id_bind(request.trace_id)
        try:
            response = self.get_response(request)
        finally:
            structlog.contextvars.clear_contextvars()  # nothing outlives the request
        response[TRACE_HEADER] = request.trace_id
        return response


class ApiRequestLogMiddleware:
    """One JSON line per partner API request, with its trace id, user and partner: what
    django-structlog logs for the browser side (which stays there), built in one call
    rather than two lines, a signal round and a client-address parser per request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_partner_api_path(request.path_info):
            return self.get_response(request)
        response = self.get_response(request)
        status = response.status_code
        fields = {
            "code": status,
            "request": f"{request.method} {request.get_full_path()}",
            "ip": request.META.get("REMOTE_ADDR"),
            "user_agent": request.META.get("HTTP_USER_AGENT"),
        }
        user = getattr(request, "user", None)  # set by DRF's authentication
        if user is not None and user.is_authenticated:
            fields["user_id"] = user.pk
            fields["partner_id"] = str(user.partner_id) if user.partner_id else None
        level = (
            logging.ERROR if status >= 500 else logging.WARNING if status >= 400 else logging.INFO
        )
        _request_logger.log(level, "request_finished", **fields)
        return response


class ApiErrorEnvelopeMiddleware:
    """Under /api/, any error that did not come from DRF's handler (Django's own 404 and
    500 pages, CSRF failures, DEBUG pages) is rewritten into the error envelope."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not is_api_path(request.path)
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        status = response.status_code
        code = _CODES_BY_STATUS.get(status, "internal_error" if status >= 500 else "error")
        message = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        if status >= 500:
            message = "Internal error; quote the trace id to support."
        envelope = error_envelope(
            code=code, message=message, trace_id=getattr(request, "trace_id", "")
        )
        new = JsonResponse(envelope, status=status)
        for header, value in response.items():  # Allow, Retry-After, Deprecation, Vary...
            if header.lower() not in _BODY_HEADERS:
                new[header] = value
        return new


class CommonMiddleware(DjangoCommonMiddleware):
    """Django's, but an API path without its trailing slash is a 404 envelope, not a
    redirect: API.md ends every path with "/", and a redirected POST loses its body."""

    def should_redirect_with_slash(self, request):
        return not is_api_path(request.path) and super().should_redirect_with_slash(request)


class ApiDeprecationMiddleware:
    """Marks responses of a deprecated API version with Deprecation and Sunset headers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = _API_PATH.match(request.path)
        version = match and match.group("version")
        sunset = settings.API_DEPRECATED_VERSIONS.get(version) if version else None
        if sunset is not None:
            response["Deprecation"] = "true"
            if sunset:
                response["Sunset"] = _http_date_of(sunset)
        return response


def _http_date_of(iso_date: str) -> str:
    day = datetime.fromisoformat(iso_date).replace(tzinfo=UTC)
    return http_date(day.timestamp())
