"""Audit action names read `<thing>.<what happened>` in the past tense (account.frozen,
account.opened). Renames the rows written before; an unfreeze used to read account.open,
like an opening: its before-status tells them apart."""

from django.db import migrations

RENAMED = {
    "account.open": "account.opened",
    "adjustment.propose": "adjustment.proposed",
    "transfer.reverse": "transfer.reversed",
    "ledger_check.acknowledge": "ledger_check.acknowledged",
    "user.password_change": "user.password_changed",
    "user.sessions_revoke_all": "user.sessions_revoked",
}
GENERIC = {".create": ".created", ".change": ".changed", ".delete": ".deleted"}


def forwards(apps, schema_editor):
    AuditEvent = apps.get_model("core", "AuditEvent")
    AuditEvent.objects.filter(action="account.open", before__status="frozen").update(
        action="account.unfrozen"
    )
    for old, new in RENAMED.items():
        AuditEvent.objects.filter(action=old).update(action=new)
    for old_suffix, new_suffix in GENERIC.items():
        for action in (
            AuditEvent.objects.filter(action__endswith=old_suffix)
            .order_by()
            .values_list("action", flat=True)
            .distinct()
        ):
            renamed = action[: -len(old_suffix)] + new_suffix
            AuditEvent.objects.filter(action=action).update(action=renamed)


def backwards(apps, schema_editor):
    AuditEvent = apps.get_model("core", "AuditEvent")
    AuditEvent.objects.filter(action="account.unfrozen").update(action="account.open")
    for old, new in RENAMED.items():
        AuditEvent.objects.filter(action=new).update(action=old)
    for old_suffix, new_suffix in GENERIC.items():
        for action in (
            AuditEvent.objects.filter(action__endswith=new_suffix)
            .order_by()
            .values_list("action", flat=True)
            .distinct()
        ):
            AuditEvent.objects.filter(action=action).update(
                action=action[: -len(new_suffix)] + old_suffix
            )


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=True)]
