"""A void's or an expiry's own transfer read `posted`; it reads what it did now. The
digest does not cover the status, so the hash chains stay intact."""

from django.db import migrations


def forwards(apps, schema_editor):
    Transfer = apps.get_model("ledger", "Transfer")
    Transfer.objects.filter(kind="void_pending").update(status="voided")
    Transfer.objects.filter(kind="expire_pending").update(status="expired")


def backwards(apps, schema_editor):
    Transfer = apps.get_model("ledger", "Transfer")
    Transfer.objects.filter(kind__in=["void_pending", "expire_pending"]).update(status="posted")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0007_transfer_kind_labels")]

    operations = [migrations.RunPython(forwards, backwards, elidable=True)]
