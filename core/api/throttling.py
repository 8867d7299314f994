import functools

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from core.sessions import Rate


class _SettingsRateThrottle(SimpleRateThrottle):
    """Reads its rate from settings.API_THROTTLE_RATES on every request (live changes)."""

    def get_rate(self):
        return settings.API_THROTTLE_RATES[self.scope]


class PartnerRateThrottle(_SettingsRateThrottle):
    """Requests per partner, across all of its users and processes (the store is shared).

    On Redis the token check has already counted the request in the same round trip
    (core.api.authentication) and left its verdict on the request; elsewhere DRF counts."""

    scope = "partner"

    def allow_request(self, request, view):
        wait = getattr(request, "partner_throttle_wait", None)
        if wait is None:
            return super().allow_request(request, view)
        self._counted_wait = wait
        return wait == 0

    def wait(self):
        if hasattr(self, "_counted_wait"):
            return self._counted_wait
        return super().wait()

    def get_cache_key(self, request, view):
        partner_id = getattr(request.user, "partner_id", None)
        if partner_id is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": partner_id}


def partner_rate() -> Rate:
    """The partner rate in force now (settings are read on every request)."""
    return _rate_of(settings.API_THROTTLE_RATES["partner"])


@functools.cache
def _rate_of(text: str) -> Rate:
    requests, seconds = PartnerRateThrottle.parse_rate(PartnerRateThrottle, text)  # as DRF reads it
    return Rate(requests=requests, seconds=seconds)


class AuthRateThrottle(_SettingsRateThrottle):
    """Requests per client address on the token endpoints."""

    scope = "auth"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
