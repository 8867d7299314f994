"""Most transfers resolve no pending transfer and reverse none, yet the plain foreign-key
indexes on `pending` and `reverses` took a NULL entry for every transfer. The partial unique
indexes (`transfer_pending_resolved_once`, `transfer_reversed_once`) already index every
non-NULL value, so the plain ones go.

Django's AlterField(db_index=False) would drop them by column, and with them the partial
unique indexes on the same column: so the state changes here, and the database loses only
the two plain indexes, by name.
"""

from django.db import migrations, models

PLAIN_INDEXES = {
    "pending": "ledger_transfer_pending_id_d4b0cd6d",
    "reverses": "ledger_transfer_reverses_id_d2a125b2",
}


class Migration(migrations.Migration):
    dependencies = [("ledger", "0004_transfer_accounts_hold_its_asset")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="transfer",
                    name="pending",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        help_text="The pending transfer this one posts, voids or expires.",
                        null=True,
                        on_delete=models.deletion.PROTECT,
                        related_name="resolutions",
                        to="ledger.transfer",
                    ),
                ),
                migrations.AlterField(
                    model_name="transfer",
                    name="reverses",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=models.deletion.PROTECT,
                        related_name="reversals",
                        to="ledger.transfer",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {index}",
                    reverse_sql=f"CREATE INDEX {index} ON ledger_transfer ({field}_id)",
                )
                for field, index in PLAIN_INDEXES.items()
            ],
        )
    ]
