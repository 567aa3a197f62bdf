"""PostgreSQL: leave a tenth of each page of the contacts table free, so the score update that
every activity makes (engagement score, its time, the last activity) can write the new row
version beside the old one — a "heap-only tuple" update, which touches none of the table's
seven indexes. On full pages (fillfactor 100, the default) each such update moves the row to
another page and adds an entry to every index. Applies to pages written from now on (new
rows, and the whole table after ``VACUUM FULL``); a no-op on SQLite.

Here rather than in ``customers``: it is the activity path that updates contacts this often."""

from django.db import migrations

FILLFACTOR = 90


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE customers_contact SET (fillfactor = {FILLFACTOR})")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE customers_contact RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0004_account_lower_indexes"),
        ("marketing", "0003_fewer_redundant_indexes"),
    ]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
