from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"

    def ready(self):
        from ledger.hooks import hold_changed
        from ledger.models import Transfer
        from trading.services import holds  # noqa: F401 (declares the clearing house account)
        from trading.services.hold_events import order_holds_changed

        hold_changed.register_many(origin=Transfer.Origin.ORDER, callback=order_holds_changed)
