from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from core.api.auth_errors import TokenRefused
from core.api.base import AuthApi, PartnerApi
from core.api.serializers import RequestSerializer
from core.models import User
from core.services import session_login, session_logout, session_refresh

TokenPairSerializer = inline_serializer(
    "TokenPair", {"access": serializers.CharField(), "refresh": serializers.CharField()}
)


class TokenObtainApi(AuthApi):
    """A partner user's username and password for an access/refresh token pair."""

    class InputSerializer(RequestSerializer):
        # Bounded before anything (the lockout's failure log included) stores or hashes them.
        username = serializers.CharField(max_length=User._meta.get_field("username").max_length)
        password = serializers.CharField(
            max_length=4096, style={"input_type": "password"}, trim_whitespace=False
        )

    @extend_schema(request=InputSerializer, responses={200: TokenPairSerializer}, tags=["auth"])
    def post(self, request, *args, **kwargs):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        # Through django-axes: repeated failures lock the username out for this address.
        user = authenticate(request._request, **payload.validated_data)
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed("Invalid credentials.")
        access, refresh = session_login(user=user, request=request._request)
        return Response({"access": str(access), "refresh": str(refresh)})


class TokenRefreshApi(AuthApi):
    """A refresh token for a new pair; the refresh token given is refused afterwards."""

    class InputSerializer(RequestSerializer):
        refresh = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={200: TokenPairSerializer}, tags=["auth"])
    def post(self, request, *args, **kwargs):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            old_refresh = RefreshToken(payload.validated_data["refresh"])
        except ExpiredTokenError as exc:
            raise TokenRefused(
                "The refresh token has expired; log in again.", reason="token_expired"
            ) from exc
        except TokenError as exc:
            raise TokenRefused("The refresh token is not valid.", reason="token_invalid") from exc
        access, refresh = session_refresh(refresh=old_refresh)
        return Response({"access": str(access), "refresh": str(refresh)})


class LogoutApi(PartnerApi):
    """Ends the session: this access token (and the refresh token given) are refused."""

    class InputSerializer(RequestSerializer):
        refresh = serializers.CharField(required=False)

    @extend_schema(request=InputSerializer, responses={204: None}, tags=["auth"])
    def post(self, request, *args, **kwargs):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        refresh = None
        if raw := payload.validated_data.get("refresh"):
            try:
                refresh = RefreshToken(raw)
            except TokenError:
                refresh = None  # an expired refresh token is already useless
        session_logout(user=request.user, access=request.auth, refresh=refresh)
        return Response(status=status.HTTP_204_NO_CONTENT)
