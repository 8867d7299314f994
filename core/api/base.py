"""Base classes per audience: they fix authentication, permissions and throttling once."""

from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from core.api.authentication import PartnerJWTAuthentication
from core.api.parsers import printable_key, text_problem
from core.api.permissions import IsPartnerUser
from core.api.throttling import AuthRateThrottle, PartnerRateThrottle


class Api(APIView):
    """Every API operation. Once the caller is authenticated, allowed and not throttled,
    and before the handler looks anything up, the request's input is checked: query
    parameters (names too) holding NUL or a lone surrogate are a 400, and a body is parsed
    (core.api.parsers refuses the same in any of its strings). So hostile input is a 400 on
    every operation alike, whatever the handler reads first."""

    # Statuses the operation's services may answer beyond those the schema derives from
    # the view itself (core.api.schema), e.g. (409, 422) for a money movement.
    error_statuses: tuple[int, ...] = ()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        problems = {}
        for name, values in request.query_params.lists():
            for text in (name, *values):
                if problem := text_problem(text):
                    problems[printable_key(name)] = [problem]
        if problems:
            raise exceptions.ValidationError(problems)
        if request.method not in SAFE_METHODS:
            request.data  # noqa: B018 - parsed now: its errors come before any lookup


class PartnerApi(Api):
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


class AuthApi(Api):
    """The token endpoints: no credentials needed, throttled per client address."""

    authentication_classes = []
    permission_classes = []
    throttle_classes = [AuthRateThrottle]
    error_statuses = (401,)  # credentials refused

    def get_authenticate_header(self, request):
        # Without authenticators DRF would turn refused credentials into a 403; they are a
        # 401 with the Bearer challenge, as on every other endpoint.
        return PartnerJWTAuthentication().authenticate_header(request)
