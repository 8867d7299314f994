"""Query-string filters of the ledger's lists. Invalid values are a 400 (core.api.filters)."""

import django_filters
from django.db.models import Q

from ledger.models import Account, Transfer
from ledger.selectors import transfers_in_status


class AccountFilter(django_filters.FilterSet):
    asset = django_filters.CharFilter(method="filter_asset")

    class Meta:
        model = Account
        fields = ["asset"]

    def filter_asset(self, queryset, name, value):
        return queryset.filter(asset_id=value.upper())  # any case, as in a body


class TransferFilter(django_filters.FilterSet):
    account = django_filters.UUIDFilter(method="filter_account")
    status = django_filters.ChoiceFilter(choices=Transfer.Status.choices, method="filter_status")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Transfer
        fields = ["account", "status", "created_after", "created_before"]

    def filter_account(self, queryset, name, value):
        return queryset.filter(Q(debit_account_id=value) | Q(credit_account_id=value))

    def filter_status(self, queryset, name, value):
        return transfers_in_status(queryset, status=value)
