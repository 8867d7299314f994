"""List filters the journal adds: a partner on either side, and a range of business dates."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import Q

from core.models import Partner


class PartnerFilter(admin.SimpleListFilter):
    """Transfers debiting or crediting any account of one partner."""

    title = "partner"
    parameter_name = "partner"

    def lookups(self, request, model_admin):
        return [(str(p.pk), f"{p.name} ({p.slug})") for p in Partner.objects.order_by("slug")]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        return queryset.filter(
            Q(debit_account__partner_id=self.value()) | Q(credit_account__partner_id=self.value())
        )


def business_day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(settings.BUSINESS_TIME_ZONE))


class CreatedRangeFilter(admin.ListFilter):
    """From one business date to another, both days included (the firm's time zone):
    ?created_from=2026-11-01&created_to=2026-11-30; either may be left out."""

    title = "date created (business days, both included)"
    template = "admin/ledger/date_range_filter.html"
    parameters = ("created_from", "created_to")

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.dates = {}
        for name in self.parameters:
            if name in params:
                raw = params.pop(name)
                value = raw[-1] if isinstance(raw, list) else raw
                self.used_parameters[name] = value
                if value:
                    try:
                        self.dates[name] = date.fromisoformat(value)
                    except ValueError as exc:
                        raise IncorrectLookupParameters(f"{name}: not a date") from exc

    def has_output(self):
        return True

    def expected_parameters(self):
        return list(self.parameters)

    def queryset(self, request, queryset):
        if "created_from" in self.dates:
            queryset = queryset.filter(
                created_at__gte=business_day_start(self.dates["created_from"])
            )
        if "created_to" in self.dates:
            end = business_day_start(self.dates["created_to"] + timedelta(days=1))
            queryset = queryset.filter(created_at__lt=end)
        return queryset

    def choices(self, changelist):
        others = [
            (key, value)
            for key, values in changelist.params.items()
            if key not in self.parameters
            for value in (values if isinstance(values, list) else [values])
        ]
        yield {
            "from": self.used_parameters.get("created_from", ""),
            "to": self.used_parameters.get("created_to", ""),
            "hidden": others,
            "clear": changelist.get_query_string(remove=list(self.parameters)),
            "selected": bool(self.dates),
        }
