"""Settlement's API shapes: amounts are decimal strings in the asset's scale (signed for an
obligation: positive, the partner receives)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.schema import DECIMAL_STRING
from core.money import from_minor_units
from settlement.models import Obligation, SettlementBatch

# A net amount is signed (core's decimal string allows it): "-70.00" pays.
SIGNED_DECIMAL = {**DECIMAL_STRING, "example": "-70.00"}


@extend_schema_field(SIGNED_DECIMAL)
class SignedAmountField(serializers.Field):
    def to_representation(self, obligation: Obligation) -> str:
        return from_minor_units(obligation.net_amount, scale=obligation.asset.scale)


class ObligationSerializer(serializers.ModelSerializer):
    asset = serializers.CharField(source="asset_id")
    net_amount = SignedAmountField(source="*", help_text="Positive: the partner receives.")

    class Meta:
        model = Obligation
        fields = ("asset", "net_amount", "status")


class BatchSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(source="state", choices=SettlementBatch.State.choices)

    class Meta:
        model = SettlementBatch
        fields = ("id", "business_date", "cycle", "status", "cutoff", "settled_at")


class BatchDetailSerializer(BatchSerializer):
    obligations = serializers.SerializerMethodField()

    class Meta(BatchSerializer.Meta):
        fields = (*BatchSerializer.Meta.fields, "obligations")

    def get_obligations(self, batch) -> list[dict]:
        return ObligationSerializer(self.context["obligations"], many=True).data
