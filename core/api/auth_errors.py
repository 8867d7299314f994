"""Refused tokens: a 401 that says why. Apart from core.api.exceptions, which imports DRF's
views (and so the authentication classes that raise this)."""

from rest_framework.exceptions import AuthenticationFailed


class TokenRefused(AuthenticationFailed):
    """A 401 whose envelope says why in details.reason (token_expired, token_revoked,
    token_reused, token_invalid), so a client knows whether refreshing can help."""

    def __init__(self, message: str, *, reason: str):
        super().__init__(message, code=reason)
        self.reason = reason
