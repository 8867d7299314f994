"""What a locked-out login gets (django-axes calls this): 429 with Retry-After, and under
/api/ the error envelope like every other API error."""

from axes.helpers import get_cool_off
from django.http import HttpResponse, JsonResponse

from core.middleware import error_envelope, is_api_path

MESSAGE = "Too many failed logins; try again later."


def lockout_response(request, original_response=None, credentials=None):
    if is_api_path(request.path):
        body = error_envelope(
            code="throttled", message=MESSAGE, trace_id=getattr(request, "trace_id", "")
        )
        response = JsonResponse(body, status=429)
    else:
        response = HttpResponse(MESSAGE, status=429, content_type="text/plain; charset=utf-8")
    cool_off = get_cool_off(request)
    if cool_off is not None:  # None: locked until staff unlock it
        response["Retry-After"] = str(max(1, int(cool_off.total_seconds())))
    return response
