"""Base classes per audience: they fix authentication, permissions and throttling once."""

from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from core.api.authentication import PartnerJWTAuthentication
from core.api.permissions import IsPartnerUser
from core.api.throttling import AuthRateThrottle, PartnerRateThrottle


class PartnerApi(APIView):
    """An operation of the partner API: a partner user's JWT, throttled per partner."""

    permission_classes = [IsPartnerUser]
    throttle_classes = [PartnerRateThrottle]

    @property
    def partner(self):
        return self.request.user.partner

    def handle_exception(self, exc):
        # An error is the JSON envelope even where the client asked for a download (CSV).
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response


class AuthApi(APIView):
    """The token endpoints: no credentials needed, throttled per client address."""

    authentication_classes = []
    permission_classes = []
    throttle_classes = [AuthRateThrottle]

    def get_authenticate_header(self, request):
        # Without authenticators DRF would turn refused credentials into a 403; they are a
        # 401 with the Bearer challenge, as on every other endpoint.
        return PartnerJWTAuthentication().authenticate_header(request)
