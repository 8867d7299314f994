"""Query-string filters of trading's lists. Invalid values are a 400 (ledger's `filtered`)."""

import django_filters

from trading.models import Order


class OrderFilter(django_filters.FilterSet):
    symbol = django_filters.CharFilter(method="filter_symbol", help_text='"ACME/USD" or "ACME-USD"')
    status = django_filters.ChoiceFilter(choices=Order.Status.choices)

    class Meta:
        model = Order
        fields = ["symbol", "status"]

    def filter_symbol(self, queryset, name, value):
        return queryset.filter(instrument__symbol=value.replace("-", "/"))


class TradeFilter(django_filters.FilterSet):
    symbol = django_filters.CharFilter(method="filter_symbol", help_text='"ACME/USD" or "ACME-USD"')

    def filter_symbol(self, queryset, name, value):
        return queryset.filter(instrument__symbol=value.replace("-", "/"))
