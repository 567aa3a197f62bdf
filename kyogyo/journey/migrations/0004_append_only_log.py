"""The database itself refuses to change a transition row (the log is append-only).

PostgreSQL also refuses DELETE; SQLite allows it only because Django's test flush
deletes rows — ``kyogyo check`` detects any deletion through the hash chain."""

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER IF NOT EXISTS journey_transition_no_update
       BEFORE UPDATE ON journey_transition
       BEGIN SELECT RAISE(ABORT, 'journey_transition is append-only'); END;""",
]
SQLITE_REVERSE = ["DROP TRIGGER IF EXISTS journey_transition_no_update;"]

POSTGRES = [
    """CREATE OR REPLACE FUNCTION journey_transition_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'journey_transition is append-only'; END; $$ LANGUAGE plpgsql;""",
    """CREATE TRIGGER journey_transition_no_change
       BEFORE UPDATE OR DELETE ON journey_transition
       FOR EACH ROW EXECUTE FUNCTION journey_transition_append_only();""",
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS journey_transition_no_change ON journey_transition;",
    "DROP FUNCTION IF EXISTS journey_transition_append_only();",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("journey", "0003_fewer_redundant_indexes")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRES}),
            _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE}),
        ),
    ]
