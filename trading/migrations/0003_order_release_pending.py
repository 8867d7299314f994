# Hold releases of orders the matcher ended are done after its batch, not inside it
# (trading.matching.releases): this flag is their durable queue.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0002_order_matcher_queue_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="release_pending",
            field=models.BooleanField(
                default=False,
                help_text="Ended by the matcher; its hold not yet shrunk to what its fills consumed.",
            ),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(("release_pending", True)),
                fields=["instrument"],
                name="order_release_pending",
            ),
        ),
    ]
