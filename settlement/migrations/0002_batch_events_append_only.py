# A batch's events are its history: the database refuses to change or delete one
# (PostgreSQL; on SQLite the services and the read-only console are the only writers).

from django.db import migrations

FORWARD = """
CREATE FUNCTION settlement_batchevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'settlement batch events are append-only (%% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER settlement_batchevent_append_only BEFORE UPDATE OR DELETE
    ON settlement_batchevent FOR EACH ROW EXECUTE FUNCTION settlement_batchevent_append_only();
"""
BACKWARD = """
DROP TRIGGER settlement_batchevent_append_only ON settlement_batchevent;
DROP FUNCTION settlement_batchevent_append_only();
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("settlement", "0001_batches_obligations_reconciliation")]

    operations = [migrations.RunPython(_on_postgresql(FORWARD), _on_postgresql(BACKWARD))]
