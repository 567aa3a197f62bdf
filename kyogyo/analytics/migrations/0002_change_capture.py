"""Change capture for the analytics snapshot: triggers record every update or delete
of the rows the snapshot copies (whatever path wrote them: actions, admin, imports,
raw SQL), so a refresh re-reads only those. New rows are found by id instead.

An update that touches none of the listed columns (e.g. a score update) is not recorded."""

from django.db import migrations

from kyogyo.analytics.snapshot.schema import CAPTURED

CHANGE_TABLE = "analytics_snapshotchange"


def _sqlite(name: str, table: str, columns: list[str]) -> list[str]:
    cols = ", ".join(columns)
    return [
        f"""CREATE TRIGGER IF NOT EXISTS analytics_capture_{name}_update AFTER UPDATE OF {cols} ON {table}
            BEGIN INSERT INTO {CHANGE_TABLE} ("table", row_id) VALUES ('{name}', NEW.id); END;""",
        f"""CREATE TRIGGER IF NOT EXISTS analytics_capture_{name}_delete AFTER DELETE ON {table}
            BEGIN INSERT INTO {CHANGE_TABLE} ("table", row_id) VALUES ('{name}', OLD.id); END;""",
    ]


def _postgres(name: str, table: str, columns: list[str]) -> list[str]:
    cols = ", ".join(columns)
    return [
        f"DROP TRIGGER IF EXISTS analytics_capture_{name} ON {table};",
        f"""CREATE TRIGGER analytics_capture_{name} AFTER UPDATE OF {cols} OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION analytics_capture('{name}');""",
    ]


POSTGRES_FUNCTION = f"""CREATE OR REPLACE FUNCTION analytics_capture() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO {CHANGE_TABLE} ("table", row_id) VALUES (TG_ARGV[0], OLD.id);
  ELSE
    INSERT INTO {CHANGE_TABLE} ("table", row_id) VALUES (TG_ARGV[0], NEW.id);
  END IF;
  RETURN NULL;
END; $$ LANGUAGE plpgsql;"""


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements: list[str] = [POSTGRES_FUNCTION] if vendor == "postgresql" else []
    for name, (table, columns) in CAPTURED.items():
        if vendor == "postgresql":
            statements += _postgres(name, table, columns)
        elif vendor == "sqlite":
            statements += _sqlite(name, table, columns)
    for statement in statements:
        schema_editor.execute(statement)


def remove(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for name, (table, _columns) in CAPTURED.items():
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS analytics_capture_{name} ON {table};")
        elif vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS analytics_capture_{name}_update;")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS analytics_capture_{name}_delete;")
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS analytics_capture();")


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0001_initial"),
        ("customers", "0002_initial"),
        ("deals", "0004_probability_at_most_100"),
        ("handoffs", "0002_initial"),
        ("success", "0001_initial"),
    ]

    operations = [migrations.RunPython(install, remove)]
