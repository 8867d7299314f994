"""Query-string filters of trading's lists. Invalid values are a 400 (ledger's `filtered`)."""

import django_filters
from django.core.validators import RegexValidator

from trading.models import Order

SYMBOL_PATTERN = r"[A-Za-z0-9._]{1,15}[/-][A-Za-z0-9._]{1,15}"
# Anything else (a NUL byte PostgreSQL cannot take, say) is a 400, never a query.
symbol_validator = RegexValidator(f"^{SYMBOL_PATTERN}$", "Not a symbol, e.g. ACME/USD.")


class OrderFilter(django_filters.FilterSet):
    symbol = django_filters.CharFilter(
        method="filter_symbol", validators=[symbol_validator], help_text='"ACME/USD" or "ACME-USD"'
    )
    status = django_filters.ChoiceFilter(choices=Order.Status.choices)

    class Meta:
        model = Order
        fields = ["symbol", "status"]

    def filter_symbol(self, queryset, name, value):
        return queryset.filter(instrument__symbol=value.replace("-", "/"))


class TradeFilter(django_filters.FilterSet):
    symbol = django_filters.CharFilter(
        method="filter_symbol", validators=[symbol_validator], help_text='"ACME/USD" or "ACME-USD"'
    )

    def filter_symbol(self, queryset, name, value):
        return queryset.filter(instrument__symbol=value.replace("-", "/"))
