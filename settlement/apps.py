from django.apps import AppConfig


class SettlementConfig(AppConfig):
    name = "settlement"

    def ready(self):
        from settlement.selectors import batches_unsettled_ids
        from settlement.services.windows import batch_for_new_trades
        from trading.trade_batches import TradeBatches, trade_batches_provider_set

        trade_batches_provider_set(
            TradeBatches(for_new_trades=batch_for_new_trades, unsettled=batches_unsettled_ids)
        )
