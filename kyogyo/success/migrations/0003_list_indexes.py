"""The NPS answers are listed newest first (the overview's latest answers, the NPS page): in
that order by an index, not by sorting every answer for each page (see kyogyo/web/indexes.py)."""

from django.db import migrations

from kyogyo.web.indexes import ListIndex, create, drop

INDEXES = [ListIndex("nps_answered", "success_npsresponse", ["answered_at", "id"])]


class Migration(migrations.Migration):
    dependencies = [("success", "0002_expansion_handback")]

    operations = [migrations.RunPython(create(INDEXES), drop(INDEXES))]
