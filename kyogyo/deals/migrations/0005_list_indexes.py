"""Indexes for the list of deals and the search (see kyogyo/web/indexes.py)."""

from django.db import migrations

from kyogyo.web.indexes import ListIndex, create, drop

INDEXES = [
    ListIndex("deal_created", "deals_deal", ["created_at", "id"]),
    ListIndex("deal_status_created", "deals_deal", ["status", "created_at", "id"]),
    ListIndex("deal_amount", "deals_deal", ["amount", "id"]),
    ListIndex("deal_expected_close", "deals_deal", ["expected_close", "id"]),
    ListIndex("deal_name_prefix", "deals_deal", [], prefix="name"),
]


class Migration(migrations.Migration):
    dependencies = [("deals", "0004_probability_at_most_100")]

    operations = [migrations.RunPython(create(INDEXES), drop(INDEXES))]
