import time

from django.conf import settings
from rest_framework import exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.tokens import AccessToken
from rest_framework_simplejwt.utils import aware_utcnow

from core.api.auth_errors import TokenRefused
from core.api.throttling import PartnerRateThrottle, partner_rate
from core.principal import PARTNER_CLAIM, principal_from_claims
from core.sessions import session_token_check

EXPIRED = "The access token has expired; refresh it or log in again."
REVOKED = "The access token has been revoked (logged out, or every session ended)."
INVALID = "The access token is not valid."


class PartnerJWTAuthentication(JWTAuthentication):
    """Bearer JWT whose jti must still be in the token store (not logged out or revoked),
    issued to a partner user. The user and partner come from the token's claims (no
    query); the store's check, and with Redis the partner's rate limit, is one round trip."""

    def authenticate(self, request):
        header = self.get_header(request)
        raw_token = self.get_raw_token(header) if header is not None else None
        if raw_token is None:
            return None
        token = self.get_validated_token(raw_token)
        counted = _counts_partner_rate(request)
        verdict = session_token_check(
            token,
            rate=partner_rate() if counted else None,
            rate_ident=token.get(PARTNER_CLAIM),
        )
        if not verdict.live:
            raise TokenRefused(REVOKED, reason="token_revoked")
        if counted:
            request.partner_throttle_wait = verdict.throttle_wait
        return self.get_user(token), token

    def get_validated_token(self, raw_token):
        try:
            return _access_token(raw_token)
        except ExpiredTokenError as exc:
            raise TokenRefused(EXPIRED, reason="token_expired") from exc
        except TokenError as exc:
            raise TokenRefused(INVALID, reason="token_invalid") from exc

    def get_user(self, validated_token):
        user = principal_from_claims(validated_token)
        if user is None:
            raise exceptions.AuthenticationFailed("Not a partner API user.", code="no_partner")
        return user


# A token's signature and claims check out or not for good (a pure function of the token and
# the signing key), and a partner sends the same token on every request until it
# refreshes, so each process keeps the payloads it verified (a tenth of an API request's
# CPU was PyJWT decoding the same token again). Only the expiry, which time changes, is
# checked again on each use; once past it the token goes through simplejwt again, which
# refuses it as expired. Revocation is the token store's and is checked on every request.
_VERIFIED_MAX = 4096
_verified: dict[bytes, dict] = {}


def _access_token(raw_token: bytes) -> AccessToken:
    payload = _verified.get(raw_token)
    if payload is not None and payload["exp"] > time.time() - _leeway_seconds():
        token = AccessToken.__new__(AccessToken)  # what AccessToken(raw_token) would hold
        token.token, token.current_time, token.payload = raw_token, aware_utcnow(), dict(payload)
        return token
    token = AccessToken(raw_token)  # signature, expiry, type, jti: or TokenError
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()
    _verified[raw_token] = dict(token.payload)
    return token


def _leeway_seconds() -> float:
    return token_backend.get_leeway().total_seconds()


_COUNTS_RATE: dict[type, bool] = {}


def _counts_partner_rate(request) -> bool:
    """Whether the view this request goes to is throttled per partner (then the token
    check counts the request too)."""
    if not settings.REDIS_URL:
        return False  # DRF's throttle counts in the cache itself
    view = (getattr(request, "parser_context", None) or {}).get("view")
    if view is None:
        return False
    cls = type(view)
    if cls not in _COUNTS_RATE:
        _COUNTS_RATE[cls] = any(
            issubclass(throttle, PartnerRateThrottle) for throttle in view.throttle_classes
        )
    return _COUNTS_RATE[cls]
