"""The history: every insert, update and delete of a tracked record leaves exactly one row
saying what changed from what to what, when, by whom and through which path — whichever
path wrote it — and the rows cannot be changed (only blanked once, by an erasure)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from kyogyo.audit import history, registry, triggers
from kyogyo.audit.context import origin
from kyogyo.audit.models import Change
from kyogyo.customers import actions as customers
from kyogyo.customers.models import Account, Contact
from kyogyo.imports.tests.files import run
from kyogyo.testing import T0

pytestmark = pytest.mark.django_db


def changes_of(record) -> list[Change]:
    return list(
        Change.objects.filter(model=history.label_of(type(record)), object_id=str(record.pk)).order_by("id")
    )


def test_every_entry_names_real_fields_and_every_table_has_its_triggers():
    for entry in registry.TRACKED:
        names = {f.name for f in entry.model._meta.concrete_fields}
        assert entry.skip <= names and entry.masked <= names, entry.label
    assert triggers.missing() == []


def test_create_update_delete_each_leave_one_row_with_from_and_to(people):
    with origin("cli", actor=people.admin, label="test"):
        account = customers.create_account(name="Acme", domain="acme.example.jp")
        customers.update_account(account, segment="enterprise")
        customers.update_account(account, segment="enterprise")  # no change: no row
        Account.objects.filter(pk=account.pk).update(industry="software")  # a bulk update too
        kept = Account.objects.get(pk=account.pk)
        account.delete()
    created, segment, industry, deleted = changes_of(kept)
    assert created.operation == "create" and created.changes["name"] == [None, "Acme"]
    assert segment.operation == "update" and segment.changes == {"segment": ["", "enterprise"]}
    assert industry.changes == {"industry": ["", "software"]}
    assert deleted.operation == "delete" and deleted.changes["segment"] == ["enterprise", None]
    assert {(c.path, c.actor_id, c.label) for c in (created, segment, industry, deleted)} == {
        ("cli", people.admin.pk, "test")
    }


def test_derived_values_are_left_out_and_secrets_never_shown(make_contact, people):
    contact = make_contact()
    before = len(changes_of(contact))
    Contact.objects.filter(pk=contact.pk).update(fit_score=90, engagement_score=4.5)
    assert len(changes_of(contact)) == before  # scores are recomputed from their sources
    people.is_rep.set_password("a new secret phrase")
    people.is_rep.save()
    (change,) = changes_of(people.is_rep)[-1:]
    assert change.changes["password"][1] == registry.HIDDEN
    assert "a new secret phrase" not in json.dumps(change.changes)


def test_the_history_cannot_be_edited(people):
    with origin("cli", actor=people.admin):
        account = customers.create_account(name="Acme")
    change = changes_of(account)[0]
    change.label = "rewritten"
    with pytest.raises(DatabaseError), transaction.atomic():
        change.save(update_fields=["label"])
    if connection.vendor == "postgresql":  # SQLite keeps DELETE for Django's test flush
        with pytest.raises(DatabaseError), transaction.atomic():
            Change.objects.filter(pk=change.pk).delete()
    assert history.redact(Account, [account.pk]) == 1  # an erasure may blank it, once
    change.refresh_from_db()
    assert change.redacted and change.changes["name"] == [history.ERASED, history.ERASED]
    change.changes = {"name": [None, "Acme again"]}
    with pytest.raises(DatabaseError), transaction.atomic():
        change.save(update_fields=["changes"])


def test_pages_record_the_person_and_the_web_path(client, people):
    client.force_login(people.is_rep)
    response = client.post(reverse("web:preferences"), {"language": "ja", "time_zone": "Asia/Tokyo"})
    assert response.status_code in (200, 302)
    change = changes_of(people.is_rep)[-1]
    assert (change.path, change.actor_id) == ("ui", people.is_rep.pk)
    assert change.changes["time_zone"][1] == "Asia/Tokyo"


def test_the_api_records_the_token_user(api, people):
    client = api(people.is_rep)
    created = client.post("/accounts", {"name": "Acme API"})
    assert created.status_code == 201, created.content
    account = Account.objects.get(pk=created.json()["id"])
    assert client.patch(f"/accounts/{account.pk}", {"segment": "smb"}).status_code == 200
    assert [(c.operation, c.path, c.actor_id) for c in changes_of(account)] == [
        ("create", "api", people.is_rep.pk),
        ("update", "api", people.is_rep.pk),
    ]


def test_the_api_serves_a_records_history_in_pages(api, people):
    client = api(people.is_rep)
    account = Account.objects.get(pk=client.post("/accounts", {"name": "Acme API"}).json()["id"])
    for segment in ("smb", "mid", "enterprise"):
        assert client.patch(f"/accounts/{account.pk}", {"segment": segment}).status_code == 200
    first = client.get(f"/history/accounts/{account.pk}", {"limit": 2}).json()
    assert [(c["operation"], c["path"], c["actor"]) for c in first["items"]] == [
        ("create", "api", people.is_rep.username),
        ("update", "api", people.is_rep.username),
    ]
    assert first["items"][1]["changes"]["segment"][1] == "smb"
    rest = client.get(f"/history/accounts/{account.pk}", {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [c["changes"]["segment"] for c in rest["items"]] == [["smb", "mid"], ["mid", "enterprise"]]
    assert rest["next_cursor"] is None
    assert client.get("/history/accounts/987654").status_code == 404
    assert client.get(f"/history/invoices/{account.pk}").status_code == 422


def test_the_api_history_withholds_restricted_fields(api, people):
    from kyogyo.org.models import RestrictedField

    client = api(people.is_rep)
    account = Account.objects.get(pk=client.post("/accounts", {"name": "Acme API"}).json()["id"])
    assert client.patch(f"/accounts/{account.pk}", {"segment": "smb"}).status_code == 200
    RestrictedField.objects.create(
        model="customers.account", field="segment", audience=RestrictedField.Audience.ADMINS, created_at=T0
    )
    rep = client.get(f"/history/accounts/{account.pk}").json()["items"]
    assert rep[1]["changes"]["segment"] == [None, None] and rep[1]["restricted"] == ["segment"]
    assert "smb" not in json.dumps(rep)
    admin = api(people.admin).get(f"/history/accounts/{account.pk}").json()["items"]
    assert admin[1]["changes"]["segment"][1] == "smb" and admin[1]["restricted"] == []


def test_the_admin_is_a_path_of_its_own(client, people):
    from kyogyo.marketing.models import Campaign
    from kyogyo.org.models import User

    boss = User.objects.create_superuser("boss", password="pw-boss")
    client.force_login(boss)
    response = client.post(
        "/admin/marketing/campaign/add/",
        {"name": "Spring webinar", "channel": "event"},
    )
    assert response.status_code == 302, response.content[:2000]
    campaign = Campaign.objects.get(name="Spring webinar")
    (change,) = changes_of(campaign)
    assert (change.path, change.actor_id) == ("admin", boss.pk)


def test_commands_and_imports_say_so(tmp_path: Path, people, monkeypatch):
    from django.db import connections

    from kyogyo.api.models import ApiToken
    from kyogyo.cli import main

    # a command run from the console closes its connections at the end: not inside a test's transaction
    monkeypatch.setattr(connections, "close_all", lambda: None)
    main(["tokens", "create", "--user", "is_rep", "--name", "sync", "--format", "json"])
    token = ApiToken.objects.get(name="sync")
    (change,) = changes_of(token)
    assert (change.path, change.label, change.changes["secret_hash"][1]) == ("cli", "tokens", registry.HIDDEN)

    csv = tmp_path / "people.csv"
    csv.write_text(
        "email,first_name,last_name,account_name\nhana@acme.example.jp,Hana,Sato,Acme\n", encoding="utf-8"
    )
    run("contacts", csv, "--preset", "generic")
    contact = Contact.objects.get(email="hana@acme.example.jp")
    (change,) = changes_of(contact)
    assert change.path == "import" and "people.csv" in change.label


def test_rules_and_jobs_say_so(make_contact, people):
    from django_q.tasks import async_task

    contact = make_contact()
    with origin("rule", label="web-mql"):
        customers.update_contact(contact, title="CTO")
    assert changes_of(contact)[-1].path == "rule"
    async_task("kyogyo.audit.tests.test_history.rename", contact.pk, sync=True)
    change = changes_of(contact)[-1]
    assert change.path == "job" and change.changes["title"] == ["CTO", "CEO"]


def rename(pk: int) -> None:
    customers.update_contact(Contact.objects.get(pk=pk), title="CEO")


def test_a_record_shows_its_history_newest_first(people, django_assert_max_num_queries):
    with origin("ui", actor=people.manager):
        account = customers.create_account(name="Acme")
        for segment in ("smb", "mid", "enterprise"):
            customers.update_account(account, segment=segment)
    with django_assert_max_num_queries(2):
        entries = history.history_for(account)
    assert [e.operation for e in entries] == ["update", "update", "update", "create"]
    newest = entries[0]
    assert newest.actor == people.manager and newest.path == "ui"
    assert [(f.name, f.before, f.after) for f in newest.fields] == [("segment", "mid", "enterprise")]
    older = history.history_for(
        account, before_id=Change.objects.filter(model="customers.account").order_by("-id")[1].pk
    )
    assert [e.operation for e in older] == ["update", "create"]
