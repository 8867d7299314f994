from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from core.api.base import PartnerApi
from core.api.prebuilt_fields import PrebuiltFieldsMixin


class MeApi(PartnerApi):
    """The user and the partner behind the token."""

    class OutputSerializer(PrebuiltFieldsMixin, serializers.Serializer):
        class PartnerSerializer(PrebuiltFieldsMixin, serializers.Serializer):
            id = serializers.UUIDField()
            slug = serializers.CharField()
            name = serializers.CharField()

        class UserSerializer(PrebuiltFieldsMixin, serializers.Serializer):
            id = serializers.IntegerField()
            username = serializers.CharField()
            # Not an EmailField: a user may have none, and then it is "".
            email = serializers.CharField(allow_blank=True)

        user = UserSerializer()
        partner = PartnerSerializer()

    @extend_schema(responses={200: OutputSerializer}, tags=["auth"])
    def get(self, request, *args, **kwargs):
        data = {"user": request.user, "partner": request.user.partner}
        return Response(self.OutputSerializer(data).data)
