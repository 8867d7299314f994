"""Test-only URLconf: the real project URLs plus views that fail on purpose, and a tiny
idempotent create endpoint (core has no create endpoint of its own yet)."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.urls import path
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import urlpatterns as project_urlpatterns
from core.api.base import PartnerApi
from core.api.idempotency import idempotent
from core.errors import PermissionDenied
from core.services import audit_record
from core.tasks import trace_probe


class RaisingApi(APIView):
    authentication_classes = []
    permission_classes = []

    def get(self, request, *args, **kwargs):
        raise RuntimeError("a bug in a DRF view")


def raising_django_view(request):
    raise RuntimeError("a bug in a plain Django view")


class ForbiddenApi(PartnerApi):
    def get(self, request, *args, **kwargs):
        raise PermissionDenied("Partners may not do this.")


def forbidden_django_view(request):
    raise DjangoPermissionDenied


class TraceProbeApi(PartnerApi):
    """Runs core's trace_probe task (eagerly in tests) and says which trace id it saw."""

    def get(self, request, *args, **kwargs):
        return Response({"task_saw": trace_probe.delay().get()})


class NoteCreateApi(PartnerApi):
    """Creates one audit event per call, so tests can count what a request created."""

    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(max_length=100)
        fail = serializers.BooleanField(default=False)

    @idempotent
    def post(self, request, *args, **kwargs):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        if payload.validated_data["fail"]:
            raise RuntimeError("failed after validation")
        event = audit_record(
            actor=request.user,
            action="test.note",
            target=self.partner,
            after={"note": payload.validated_data["note"]},
        )
        return Response({"id": event.pk, "note": event.after["note"]}, status.HTTP_201_CREATED)


urlpatterns = [
    path("api/v1/test/drf-boom/", RaisingApi.as_view()),
    path("api/v1/test/django-boom/", raising_django_view),
    path("api/v1/test/forbidden/", ForbiddenApi.as_view()),
    path("api/v1/test/django-forbidden/", forbidden_django_view),
    path("api/v1/test/notes/", NoteCreateApi.as_view()),
    path("api/v1/test/trace-probe/", TraceProbeApi.as_view()),
    *project_urlpatterns,
]
