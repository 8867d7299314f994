"""Middleware that only the browser side needs (the console, the API docs), kept off the
partner API's operations (/api/v<N>/...): a Bearer JWT request has no session, cookie,
CSRF token, flash message or static file, and paying for them on every API call was a
good part of its time. Each class is the framework's own, run only off the API, so the
admin's checks still find them. django-axes stays on every path (the token endpoint's
lockout); the API logs its request line itself (core.middleware.ApiRequestLogMiddleware).
"""

from django.contrib.auth.middleware import AuthenticationMiddleware as _Authentication
from django.contrib.messages.middleware import MessageMiddleware as _Messages
from django.contrib.sessions.middleware import SessionMiddleware as _Sessions
from django.middleware.clickjacking import XFrameOptionsMiddleware as _XFrameOptions
from django.middleware.csrf import CsrfViewMiddleware as _Csrf
from django_structlog.middlewares import RequestMiddleware as _RequestLog
from whitenoise.middleware import WhiteNoiseMiddleware as _WhiteNoise

from core.middleware import is_partner_api_path


class BrowserOnly:
    """Mixin: under the partner API the request goes straight on to the next layer."""

    def __call__(self, request):
        if is_partner_api_path(request.path_info):
            return self.get_response(request)
        return super().__call__(request)


class RequestLogMiddleware(BrowserOnly, _RequestLog):
    pass


class WhiteNoiseMiddleware(BrowserOnly, _WhiteNoise):
    pass


class SessionMiddleware(BrowserOnly, _Sessions):
    pass


class CsrfViewMiddleware(BrowserOnly, _Csrf):
    def process_view(self, request, callback, callback_args, callback_kwargs):
        if is_partner_api_path(request.path_info):
            return None
        return super().process_view(request, callback, callback_args, callback_kwargs)


class AuthenticationMiddleware(BrowserOnly, _Authentication):
    pass


class MessageMiddleware(BrowserOnly, _Messages):
    pass


class XFrameOptionsMiddleware(BrowserOnly, _XFrameOptions):
    pass
