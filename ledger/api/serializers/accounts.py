"""An account and its balances, as a partner sees them."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.prebuilt_fields import PrebuiltFieldsMixin
from core.money import from_minor_units
from ledger.api.serializers.fields import DecimalOutputField
from ledger.selectors import Balance, account_balance


class BalanceSerializer(PrebuiltFieldsMixin, serializers.Serializer):
    posted = DecimalOutputField(help_text="Credits minus debits posted (decimal string).")
    pending = DecimalOutputField(
        help_text="What pending transfers would add; negative for reserved outflows."
    )
    available = DecimalOutputField(help_text="Posted, less what pending debits reserve.")


class AccountSerializer(PrebuiltFieldsMixin, serializers.Serializer):
    """An account and its balances (decimal strings in the asset's scale)."""

    # Balances are the account's current ones, or those of context["balance"] (as_of).

    id = serializers.UUIDField()
    code = serializers.CharField()
    asset = serializers.CharField(source="asset_id")
    kind = serializers.CharField(help_text="asset, liability, equity, income or expense.")
    status = serializers.CharField(help_text="open, frozen or closed.")
    balance = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    @extend_schema_field(BalanceSerializer)
    def get_balance(self, account) -> dict:
        balance: Balance = self.context.get("balance") or account_balance(account=account)
        scale = account.asset.scale
        return {
            "posted": from_minor_units(balance.posted, scale=scale),
            "pending": from_minor_units(balance.pending, scale=scale),
            "available": from_minor_units(balance.available, scale=scale),
        }
