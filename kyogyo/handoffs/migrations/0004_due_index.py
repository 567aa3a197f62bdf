"""The list of handoffs sorts by due time (its default, "due first"): without an index in
that order PostgreSQL sorted every handoff for each page (see kyogyo/web/indexes.py)."""

from django.db import migrations

from kyogyo.web.indexes import ListIndex, create, drop

INDEXES = [ListIndex("handoff_due", "handoffs_handoff", ["due_at", "id"])]


class Migration(migrations.Migration):
    dependencies = [("handoffs", "0003_list_indexes")]

    operations = [migrations.RunPython(create(INDEXES), drop(INDEXES))]
