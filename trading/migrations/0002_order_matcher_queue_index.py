# The matcher's queue index also covers cancelled and expired orders it has not yet taken
# off its book (trading.matcher: a cancel sets booked=False), not only accepted ones.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0001_instruments_orders_trades_matcher_state"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="order",
            name="order_unbooked_by_sequence",
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(("booked", False), ("sequence__isnull", False)),
                fields=["instrument", "sequence"],
                name="order_matcher_queue",
            ),
        ),
    ]
