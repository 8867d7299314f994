"""Every API error, whatever raised it, leaves as the one envelope of API.md."""

import math

import structlog
from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from core.errors import ApplicationError
from core.middleware import error_envelope
from core.tracing import trace_id_current

logger = structlog.get_logger(__name__)

_DRF_CODES = {
    drf.ValidationError: "validation_error",
    drf.ParseError: "validation_error",
    drf.NotAuthenticated: "not_authenticated",
    drf.AuthenticationFailed: "not_authenticated",
    drf.PermissionDenied: "permission_denied",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.Throttled: "throttled",
}


def api_exception_handler(exc, context):
    request = context.get("request")
    trace_id = getattr(request, "trace_id", "") or trace_id_current()
    headers = {}

    if isinstance(exc, ApplicationError):
        status, code, message, details = exc.status, exc.code, exc.message, exc.details
        if getattr(exc, "retry_after", None):
            headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, RequestDataTooBig):
        status, code, message = 400, "validation_error", "The request body is too large."
        details = {"body": [f"At most {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."]}
    elif isinstance(exc, drf.UnsupportedMediaType):  # bad input like any other: 400
        status, code, message = 400, "validation_error", "Send JSON (application/json)."
        details = {"Content-Type": [str(exc.detail)]}
    elif isinstance(exc, Http404):
        status, code, message, details = 404, "not_found", "Not found.", {}
    elif isinstance(exc, DjangoPermissionDenied):
        status, code, details = 403, "permission_denied", {}
        message = drf.PermissionDenied.default_detail
    elif isinstance(exc, drf.APIException):
        status = exc.status_code
        code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), None)
        code = code or exc.default_code
        message, details = _message_and_details(exc)
        if isinstance(exc, drf.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(math.ceil(exc.wait))
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if isinstance(exc, drf.MethodNotAllowed) and context.get("view"):
            headers["Allow"] = ", ".join(context["view"].allowed_methods)
    else:
        logger.exception("unhandled_api_error", error=repr(exc))
        status, code, details = 500, "internal_error", {}
        message = "Internal error; quote the trace id to support."

    set_rollback()  # like DRF's own handler: an ATOMIC_REQUESTS view's writes are undone
    body = error_envelope(code=code, message=message, details=details, trace_id=trace_id)
    return Response(body, status=status, headers=headers)


def _message_and_details(exc: drf.APIException) -> tuple[str, dict]:
    detail = exc.detail
    if isinstance(exc, drf.ValidationError):
        if isinstance(detail, dict):
            return "Invalid input.", plain_errors(detail)
        return "Invalid input.", {"non_field_errors": plain_errors(detail)}
    if reason := getattr(exc, "reason", None):  # a refused token says why (expired...)
        return str(detail), {"reason": reason}
    if isinstance(detail, dict):  # simplejwt puts {"detail", "code", "messages"} here
        return str(detail.get("detail", exc.default_detail)), {}
    return str(detail), {}


def plain_errors(value):
    """ErrorDetail trees -> plain JSON (lists of strings per field)."""
    if isinstance(value, dict):
        return {key: plain_errors(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain_errors(item) for item in value]
    return str(value)
