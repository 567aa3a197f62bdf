"""The log stays append-only, with one exception for erasure (APPI / GDPR): a transition's
free-text note may be blanked — and nothing else changed in the same update. The facts
(who moved, from where to where, when, by which rule) and the hash chain, which does not
cover the note, stay as they were. PostgreSQL still refuses DELETE."""

from django.db import migrations

# Every column but the note must stay as it was (the columns as of this migration; a later
# migration adding a column to journey_transition must extend this list).
KEPT = ["id", "subject_id", "seq", "from_stage_id", "to_stage_id", "at", "via", "actor_id",
        "rule_version_id", "reason_id", "is_reentry", "hash"]

_SQLITE_UNCHANGED = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in KEPT)
_PG_UNCHANGED = " AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in KEPT)

SQLITE = [
    "DROP TRIGGER IF EXISTS journey_transition_no_update;",
    f"""CREATE TRIGGER journey_transition_no_update
       BEFORE UPDATE ON journey_transition
       WHEN NOT (NEW.note = '' AND {_SQLITE_UNCHANGED})
       BEGIN SELECT RAISE(ABORT, 'journey_transition is append-only'); END;""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS journey_transition_no_update;",
    """CREATE TRIGGER journey_transition_no_update
       BEFORE UPDATE ON journey_transition
       BEGIN SELECT RAISE(ABORT, 'journey_transition is append-only'); END;""",
]

POSTGRES = [
    f"""CREATE OR REPLACE FUNCTION journey_transition_append_only() RETURNS trigger AS $$
       BEGIN
         IF TG_OP = 'UPDATE' AND NEW.note = '' AND {_PG_UNCHANGED} THEN
           RETURN NEW;  -- erasure blanks a note; nothing else may change
         END IF;
         RAISE EXCEPTION 'journey_transition is append-only';
       END; $$ LANGUAGE plpgsql;""",
]
POSTGRES_REVERSE = [
    """CREATE OR REPLACE FUNCTION journey_transition_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'journey_transition is append-only'; END; $$ LANGUAGE plpgsql;""",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("journey", "0004_append_only_log")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRES}),
            _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE}),
        ),
    ]
