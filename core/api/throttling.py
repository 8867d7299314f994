from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class _SettingsRateThrottle(SimpleRateThrottle):
    """Reads its rate from settings.API_THROTTLE_RATES on every request (live changes)."""

    def get_rate(self):
        return settings.API_THROTTLE_RATES[self.scope]


class PartnerRateThrottle(_SettingsRateThrottle):
    """Requests per partner, across all of its users and processes (the cache is shared)."""

    scope = "partner"

    def get_cache_key(self, request, view):
        partner_id = getattr(request.user, "partner_id", None)
        if partner_id is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": partner_id}


class AuthRateThrottle(_SettingsRateThrottle):
    """Requests per client address on the token endpoints."""

    scope = "auth"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
