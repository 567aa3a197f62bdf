"""Indexes for the list of handoffs (see kyogyo/web/indexes.py)."""

from django.db import migrations

from kyogyo.web.indexes import ListIndex, create, drop

INDEXES = [
    ListIndex("handoff_created", "handoffs_handoff", ["created_at", "id"]),
    ListIndex("handoff_status_created", "handoffs_handoff", ["status", "created_at", "id"]),
]


class Migration(migrations.Migration):
    dependencies = [("handoffs", "0002_initial")]

    operations = [migrations.RunPython(create(INDEXES), drop(INDEXES))]
