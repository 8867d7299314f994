from django.db import migrations


def load_currencies(apps, schema_editor):
    from ledger.assets import currency_assets_sync

    currency_assets_sync(apps.get_model("ledger", "Asset"))


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [migrations.RunPython(load_currencies, migrations.RunPython.noop)]
