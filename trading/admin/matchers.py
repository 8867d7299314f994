"""The matchers' status: per instrument, who runs it (host:pid), when it last beat, how
far behind it is, and whether a process holds its lock right now."""

from django.conf import settings
from django.contrib import admin
from django.utils import timezone
from django.utils.timesince import timesince

from core.admin import ReadOnlyAdmin
from trading.matching import locks
from trading.models import MatcherState


@admin.register(MatcherState)
class MatcherStateAdmin(ReadOnlyAdmin):
    list_display = (
        "instrument",
        "owner",
        "heartbeat_at",
        "heartbeat_age",
        "lag",
        "last_sequence",
        "last_trade_sequence",
        "lock_holder",
    )
    list_select_related = ("instrument",)
    ordering = ("instrument__symbol",)
    fields = (*list_display, "updated_at")
    readonly_fields = ("heartbeat_age", "lock_holder")

    @admin.display(description="heartbeat age")
    def heartbeat_age(self, state):
        if state.heartbeat_at is None:
            return "never"
        age = (timezone.now() - state.heartbeat_at).total_seconds()
        silent = " (silent)" if age > settings.TRADING_MATCHER_SILENT_SECONDS else ""
        return f"{timesince(state.heartbeat_at)}{silent}" if age >= 60 else f"{age:.1f} s{silent}"

    @admin.display(description="lock held by (backend pid)")
    def lock_holder(self, state):
        pids = locks.holder_pids(state.instrument_id)
        return ", ".join(map(str, pids)) if pids else "nobody"
