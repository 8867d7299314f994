from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"

    def ready(self):
        from ledger.hooks import hold_changed
        from ledger.models import Transfer
        from risk.hooks import held_subjects, reference_prices, trade_feed
        from trading.services import holds  # noqa: F401 (declares the clearing house account)
        from trading.services.hold_events import order_holds_changed
        from trading.services.review import last_trade_price, order_held_approve, order_held_reject
        from trading.services.risk_feed import partner_volume_today, trades_since

        hold_changed.register(
            origin=Transfer.Origin.ORDER, callback=order_holds_changed, batch=True
        )
        held_subjects.register(
            subject="order", approve=order_held_approve, reject=order_held_reject
        )
        reference_prices.register(last_trade_price)
        trade_feed.register(since=trades_since, volume_today=partner_volume_today)
