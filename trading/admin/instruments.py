"""Instruments: halt and resume (services, audited), price collar and queue depth edits
(audited), and each instrument's book as the database has it."""

from django.contrib import admin
from django.db.models import Count, Q
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core.admin import ConsoleModelAdmin
from core.services import audited_save
from ledger.admin.base import ReasonActionForm, run_each
from trading.admin.base import price_display, quantity_display
from trading.models import Instrument, Order
from trading.selectors import book_depth
from trading.services.instruments import instrument_halt, instrument_resume
from trading.services.states import ORDER_OPEN_STATUSES

BOOK_LEVELS = 50


@admin.register(Instrument)
class InstrumentAdmin(ConsoleModelAdmin):
    list_display = (
        "symbol",
        "status",
        "base_asset",
        "quote_asset",
        "tick_size",
        "lot_size",
        "collar_display",
        "max_unmatched",
        "open_orders",
        "book_link",
    )
    list_filter = ("status",)
    search_fields = ("symbol",)
    actions = ["halt", "resume"]
    action_form = ReasonActionForm
    url_rights = {"trading_instrument_book": "view"}
    fields = (
        "symbol",
        "status",
        ("base_asset", "quote_asset"),
        ("tick_size", "lot_size"),
        ("collar_low", "collar_high"),
        "max_unmatched",
        "last_sequence",
        "book_link",
    )
    # Listing an instrument is instrument_create's (assets, checks); staff edit the collar
    # and the queue depth, audited. Status moves only through halt/resume.
    readonly_fields = (
        "symbol",
        "status",
        "base_asset",
        "quote_asset",
        "tick_size",
        "lot_size",
        "last_sequence",
        "book_link",
    )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("base_asset", "quote_asset")
            .annotate(open_count=Count("orders", filter=Q(orders__status__in=ORDER_OPEN_STATUSES)))
        )

    def save_model(self, request, obj, form, change):
        audited_save(instance=obj, acting_user=request.user)

    def label(self, instrument) -> str:
        return instrument.symbol

    @admin.display(description="collar")
    def collar_display(self, instrument):
        return (
            f"{price_display(instrument.collar_low, instrument)} - "
            f"{price_display(instrument.collar_high, instrument)}"
        )

    @admin.display(description="open orders", ordering="open_count")
    def open_orders(self, instrument):
        return instrument.open_count

    @admin.display(description="book")
    def book_link(self, instrument):
        if instrument.pk is None:
            return "-"
        url = reverse("admin:trading_instrument_book", args=[instrument.pk])
        return format_html('<a href="{}">Book</a>', url)

    # --- Halt / resume --------------------------------------------------------------------

    def has_halt_permission(self, request):
        return self.has_right(request, "halt")

    @admin.action(description="Halt: refuse new orders", permissions=["halt"])
    def halt(self, request, queryset):
        reason = request.POST.get("reason", "")
        run_each(
            self,
            request,
            list(queryset),
            lambda i: instrument_halt(instrument=i, acting_user=request.user, reason=reason),
            done="Instruments halted",
        )

    @admin.action(description="Resume trading", permissions=["halt"])
    def resume(self, request, queryset):
        reason = request.POST.get("reason", "")
        run_each(
            self,
            request,
            list(queryset),
            lambda i: instrument_resume(instrument=i, acting_user=request.user, reason=reason),
            done="Instruments resumed",
        )

    # --- The book -------------------------------------------------------------------------

    def get_urls(self):
        book = path(
            "<int:object_id>/book/",
            self.admin_site.admin_view(self.book_view),
            name="trading_instrument_book",
        )
        return [book, *super().get_urls()]

    def book_view(self, request, object_id):
        if not self.has_view_permission(request):
            raise Http404
        instrument = (
            Instrument.objects.select_related("base_asset", "quote_asset")
            .filter(pk=object_id)
            .first()
        )
        if instrument is None:
            raise Http404
        depth = book_depth(instrument=instrument, levels=BOOK_LEVELS)
        rows = [
            {
                "bid": _level(depth.bids, index, instrument),
                "ask": _level(depth.asks, index, instrument),
            }
            for index in range(max(len(depth.bids), len(depth.asks)))
        ]
        unbooked = Order.objects.filter(
            instrument=instrument, booked=False, status=Order.Status.ACCEPTED
        ).count()
        context = {
            **self.admin_site.each_context(request),
            "title": f"{instrument.symbol} book",
            "opts": self.opts,
            "instrument": instrument,
            "rows": rows,
            "levels": BOOK_LEVELS,
            "unbooked": unbooked,
            "spread": _spread(depth, instrument),
        }
        return TemplateResponse(request, "admin/trading/instrument/book.html", context)


def _level(levels, index, instrument):
    if index >= len(levels):
        return None
    price, quantity = levels[index]
    return {
        "price": price_display(price, instrument),
        "quantity": quantity_display(quantity, instrument),
    }


def _spread(depth, instrument) -> str:
    if not depth.bids or not depth.asks:
        return "-"
    return price_display(depth.asks[0][0] - depth.bids[0][0], instrument)
