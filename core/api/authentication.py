from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication

from core.sessions import session_token_is_live


class PartnerJWTAuthentication(JWTAuthentication):
    """Bearer JWT whose jti must still be in the token store (not logged out or revoked),
    belonging to an active user of an active partner."""

    def get_validated_token(self, raw_token):
        token = super().get_validated_token(raw_token)
        if not session_token_is_live(token):
            raise exceptions.AuthenticationFailed(_("Token has been revoked."), code="revoked")
        return token

    def get_user(self, validated_token):
        user = super().get_user(validated_token)
        if user.partner_id is None or not user.partner.is_active:
            raise exceptions.AuthenticationFailed(_("Not a partner API user."), code="no_partner")
        return user
