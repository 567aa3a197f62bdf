"""Indexes for the lists of people and companies and the search (see kyogyo/web/indexes.py)."""

from django.db import migrations

from kyogyo.web.indexes import ListIndex, create, drop

INDEXES = [
    ListIndex("contact_created", "customers_contact", ["created_at", "id"]),
    # "recently active first" sorts NULLS LAST (never active at the end), as SQLite does anyway
    ListIndex(
        "contact_last_activity",
        "customers_contact",
        ["last_activity_at", "id"],
        postgres_columns=["last_activity_at DESC NULLS LAST", "id DESC"],
    ),
    ListIndex("contact_name_sort", "customers_contact", ["last_name", "first_name", "id"]),
    ListIndex("contact_source", "customers_contact", ["source"]),
    ListIndex("contact_email_prefix", "customers_contact", [], prefix="email"),
    ListIndex("contact_first_prefix", "customers_contact", [], prefix="first_name"),
    ListIndex("contact_last_prefix", "customers_contact", [], prefix="last_name"),
    ListIndex("account_created", "customers_account", ["created_at", "id"]),
    ListIndex("account_name_sort", "customers_account", ["name", "id"]),
    ListIndex("account_segment", "customers_account", ["segment"]),
    ListIndex("account_name_prefix", "customers_account", [], prefix="name"),
    ListIndex("account_domain_prefix", "customers_account", [], prefix="domain"),
]


class Migration(migrations.Migration):
    dependencies = [("customers", "0005_privacy_erasure")]

    operations = [migrations.RunPython(create(INDEXES), drop(INDEXES))]
