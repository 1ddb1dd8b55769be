"""The database itself refuses UPDATE on the access log (DELETE stays possible for the retention purge)."""

from django.db import migrations

SQLITE = """
CREATE TRIGGER audit_accesslog_no_update BEFORE UPDATE ON audit_accesslog
BEGIN SELECT RAISE(ABORT, 'audit_accesslog is append-only'); END;
"""
POSTGRES = """
CREATE OR REPLACE FUNCTION audit_accesslog_refuse_update() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'audit_accesslog is append-only'; END; $$ LANGUAGE plpgsql;
CREATE TRIGGER audit_accesslog_no_update BEFORE UPDATE ON audit_accesslog
FOR EACH ROW EXECUTE FUNCTION audit_accesslog_refuse_update();
"""


def create(apps, schema_editor):
    schema_editor.execute(POSTGRES if schema_editor.connection.vendor == "postgresql" else SQLITE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS audit_accesslog_no_update ON audit_accesslog;"
                              "DROP FUNCTION IF EXISTS audit_accesslog_refuse_update();")
    else:
        schema_editor.execute("DROP TRIGGER IF EXISTS audit_accesslog_no_update;")


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
