"""The order blotter (filters: partner, instrument, status, date; search by client order
id), each order's page with its fills and its hold, the trades, and the cancel actions."""

from django.contrib import admin
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html

from core.admin import ReadOnlyAdmin, confirmation_page
from ledger.admin.base import ReasonActionForm, admin_link, run_each
from ledger.errors import TransferNotFound
from ledger.selectors import hold_current
from trading.admin.base import (
    PriceQuantityColumns,
    notional_display,
    price_display,
    quantity_display,
)
from trading.models import Order, Trade
from trading.services.staff import order_cancel_by_staff, partner_orders_cancel
from trading.services.states import ORDER_OPEN_STATUSES


@admin.register(Order)
class OrderAdmin(PriceQuantityColumns, ReadOnlyAdmin):
    list_display = (
        "created_at",
        "client_order_id",
        "partner",
        "instrument",
        "side",
        "type",
        "time_in_force",
        "price_display",
        "quantity_display",
        "filled_display",
        "average_price_display",
        "status",
    )
    list_filter = (
        "instrument",
        "status",
        "side",
        "partner",
        ("created_at", admin.DateFieldListFilter),
    )
    date_hierarchy = "created_at"
    search_fields = ("=client_order_id", "=id")
    search_help_text = "Client order id (exact) or order id."
    list_select_related = ("partner", "instrument__base_asset", "instrument__quote_asset")
    ordering = ("-created_at", "-id")
    actions = ["cancel", "cancel_all_for_partner"]
    action_form = ReasonActionForm
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "id",
                    "client_order_id",
                    "partner",
                    "instrument",
                    ("side", "type", "time_in_force"),
                    ("price_display", "quantity_display"),
                    "status",
                    ("reject_reason", "cancel_reason"),
                )
            },
        ),
        (
            "Fills",
            {"fields": ("filled_display", "filled_notional_display", "average_price_display")},
        ),
        ("Funds held", {"fields": ("account", "reserved_display", "hold_display")}),
        (
            "Matching",
            {"fields": ("sequence", "booked", "release_pending", "risk_decision")},
        ),
        ("Times", {"fields": ("created_at", "accepted_at", "updated_at")}),
    )
    readonly_fields = (
        "price_display",
        "quantity_display",
        "filled_display",
        "filled_notional_display",
        "average_price_display",
        "reserved_display",
        "hold_display",
    )

    def get_readonly_fields(self, request, obj=None):
        return [
            field
            for line in (fs[1]["fields"] for fs in self.fieldsets)
            for entry in line
            for field in (entry if isinstance(entry, tuple) else (entry,))
        ]

    def label(self, order) -> str:
        return f"{order.client_order_id} ({order.partner}, {order.instrument}, {order.status})"

    @admin.display(description="filled", ordering="filled_quantity")
    def filled_display(self, order):
        return quantity_display(order.filled_quantity, order.instrument)

    @admin.display(description="filled notional")
    def filled_notional_display(self, order):
        return notional_display(order.filled_notional, order.instrument)

    @admin.display(description="average price")
    def average_price_display(self, order):
        if not order.filled_quantity:
            return "-"
        instrument = order.instrument
        scaled = order.filled_notional * 10**instrument.base_asset.scale
        return price_display(scaled // order.filled_quantity, instrument)

    @admin.display(description="reserved at acceptance")
    def reserved_display(self, order):
        instrument = order.instrument
        if order.side == Order.Side.BUY:
            return notional_display(order.reserved, instrument)
        return quantity_display(order.reserved, instrument)

    @admin.display(description="hold (ledger)")
    def hold_display(self, order):
        if order.hold_id is None:
            return "-"
        try:
            hold = hold_current(hold_id=order.hold_id)
        except TransferNotFound:
            return str(order.hold_id)
        asset = hold.asset_id
        return format_html(
            "{} ({} {} {})",
            admin_link(hold, str(hold.pk)),
            hold.status,
            quantity_or_money(hold.amount, order, asset),
            asset,
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        extra_context = {**(extra_context or {})}
        if order is not None:
            extra_context["fills"] = order_fills(order)
            extra_context["can_cancel"] = order.status in ORDER_OPEN_STATUSES and (
                self.has_right(request, "cancel")
            )
        return super().change_view(request, object_id, form_url, extra_context)

    # --- Actions --------------------------------------------------------------------------

    # Actions: rights of core.staff_groups.ROLE_TABLE; each asks to confirm, with a reason.

    def has_cancel_permission(self, request):
        return self.has_right(request, "cancel")

    @admin.action(description="Cancel the selected orders", permissions=["cancel"])
    def cancel(self, request, queryset):
        orders = list(queryset.select_related("partner", "instrument"))
        page = confirmation_page(
            self,
            request,
            orders,
            action="cancel",
            question="Cancel these orders? What they hold beyond their fills is released.",
            button="Yes, cancel them",
            label=self.label,
        )
        if page is not None:
            return page
        reason = request.POST.get("reason", "")
        run_each(
            self,
            request,
            orders,
            lambda order: order_cancel_by_staff(
                order=order, acting_user=request.user, reason=reason
            ),
            done="Orders cancelled",
        )
        return None

    @admin.action(
        description="Cancel every open order of the selected orders' partners",
        permissions=["cancel"],
    )
    def cancel_all_for_partner(self, request, queryset):
        partners = sorted({order.partner for order in queryset.select_related("partner")}, key=str)
        page = confirmation_page(
            self,
            request,
            list(queryset.select_related("partner", "instrument")),
            action="cancel_all_for_partner",
            question=(
                "Cancel EVERY open order (all instruments) of "
                + ", ".join(str(p) for p in partners)
                + "? The selected orders only name the partners."
            ),
            button="Yes, cancel all their open orders",
            label=self.label,
        )
        if page is not None:
            return page
        reason = request.POST.get("reason", "")
        for partner in partners:
            cancelled = partner_orders_cancel(
                partner=partner, acting_user=request.user, reason=reason
            )
            self.message_user(request, f"{partner}: {len(cancelled)} open orders cancelled.")
        return None


def quantity_or_money(amount: int, order: Order, asset: str) -> str:
    instrument = order.instrument
    if asset == instrument.base_asset_id:
        return quantity_display(amount, instrument)
    return notional_display(amount, instrument)


def order_fills(order: Order) -> list[dict]:
    """The order's trades, oldest first, as its page lists them."""
    trades = (
        Trade.objects.filter(Q(buy_order=order) | Q(sell_order=order))
        .select_related("buy_order__partner", "sell_order__partner")
        .order_by("sequence")
    )
    instrument = order.instrument
    fills = []
    for trade in trades:
        other = trade.sell_order if trade.buy_order_id == order.pk else trade.buy_order
        fills.append(
            {
                "trade": trade,
                "url": reverse("admin:trading_trade_change", args=[trade.pk]),
                "price": price_display(trade.price, instrument),
                "quantity": quantity_display(trade.quantity, instrument),
                "counterparty": other.partner,
                "counterparty_url": reverse("admin:trading_order_change", args=[other.pk]),
                "aggressor": trade.aggressor_side == order.side,
            }
        )
    return fills


@admin.register(Trade)
class TradeAdmin(PriceQuantityColumns, ReadOnlyAdmin):
    list_display = (
        "executed_at",
        "instrument",
        "sequence",
        "price_display",
        "quantity_display",
        "aggressor_side",
        "buy_order_link",
        "sell_order_link",
        "settlement_batch_id",
    )
    list_filter = ("instrument", ("executed_at", admin.DateFieldListFilter), "aggressor_side")
    date_hierarchy = "executed_at"
    search_fields = ("=id", "=buy_order__client_order_id", "=sell_order__client_order_id")
    search_help_text = "Trade id, or either order's client order id (exact)."
    list_select_related = (
        "instrument__base_asset",
        "instrument__quote_asset",
        "buy_order__partner",
        "sell_order__partner",
    )
    ordering = ("-executed_at", "-sequence")
    fields = (
        "id",
        "instrument",
        "sequence",
        "price_display",
        "quantity_display",
        "aggressor_side",
        "buy_order_link",
        "sell_order_link",
        "executed_at",
        "settlement_batch_id",
    )
    readonly_fields = fields

    @admin.display(description="buy order")
    def buy_order_link(self, trade):
        return admin_link(
            trade.buy_order, f"{trade.buy_order.partner} {trade.buy_order.client_order_id}"
        )

    @admin.display(description="sell order")
    def sell_order_link(self, trade):
        return admin_link(
            trade.sell_order, f"{trade.sell_order.partner} {trade.sell_order.client_order_id}"
        )
