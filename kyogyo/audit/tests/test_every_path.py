"""A property over random sequences of writes through every path a person or a program
writes by — pages, the API, the admin, commands, imports, queued jobs, bulk updates: the
number of history rows each adds is the number of values it changed (a write that changes
nothing adds none), and each row names the path it came through."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connections
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kyogyo.audit.context import origin
from kyogyo.audit.models import Change
from kyogyo.customers import actions as customers
from kyogyo.customers.models import Account, Contact
from kyogyo.imports.tests.files import run, write_csv
from kyogyo.marketing.models import Campaign
from kyogyo.org.models import User

ZONES = ["", "Asia/Tokyo", "UTC"]
SEGMENTS = ["", "smb", "enterprise"]
TITLES = ["", "CTO", "CEO"]
PATHS = ["ui", "api", "admin", "cli", "import", "job", "bulk"]

operations = st.lists(st.tuples(st.sampled_from(PATHS), st.integers(0, 2)), min_size=1, max_size=12)


@pytest.fixture
def world(people, make_contact, api, tmp_path, monkeypatch):
    monkeypatch.setattr(connections, "close_all", lambda: None)  # commands run in the test's transaction
    boss = User.objects.create_superuser("boss", password="pw-boss")
    admin_client = Client()
    admin_client.force_login(boss)
    web_client = Client()
    web_client.force_login(people.is_rep)
    contact = make_contact()
    return {
        "people": people,
        "contact": contact,
        "account": contact.account,
        "campaign": Campaign.objects.create(name="c0", channel="event"),
        "api": api(people.is_rep),
        "admin": admin_client,
        "web": web_client,
        "tmp": tmp_path,
    }


def set_title(pk: int, title: str) -> None:
    customers.update_contact(Contact.objects.get(pk=pk), title=title)


def write(world: dict, path: str, choice: int, step: int) -> tuple[str, int]:
    """Do one write through ``path``; the label of the record it touched and how many values
    it should have changed."""
    from django_q.tasks import async_task

    from kyogyo.cli import main

    contact: Contact = Contact.objects.get(pk=world["contact"].pk)
    account = Account.objects.get(pk=world["account"].pk)
    user = User.objects.get(pk=world["people"].is_rep.pk)
    if path == "ui":
        zone = ZONES[choice]
        world["web"].post("/me/", {"language": "en", "time_zone": zone})
        return "org.user", int(user.time_zone != zone) + int(user.language != "en")
    if path == "api":
        segment = SEGMENTS[choice]
        response = world["api"].patch(f"/accounts/{account.pk}", {"segment": segment})
        assert response.status_code == 200, response.content
        return "customers.account", int(account.segment != segment)
    if path == "admin":
        name = f"c{choice}"
        campaign = Campaign.objects.get(pk=world["campaign"].pk)
        response = world["admin"].post(
            f"/admin/marketing/campaign/{campaign.pk}/change/", {"name": name, "channel": "event"}
        )
        assert response.status_code == 302, response.content[:500]
        return "marketing.campaign", int(campaign.name != name)
    if path == "cli":
        main(["tokens", "create", "--user", "is_rep", "--name", f"t{step}", "--format", "json"])
        return "api.apitoken", 1
    if path == "import":
        title = TITLES[choice]
        csv = write_csv(
            Path(world["tmp"]) / f"p{step}.csv",
            ["email", "first_name", "last_name", "title"],
            [[contact.email or "", contact.first_name, contact.last_name, title]],
        )
        run("contacts", csv, "--preset", "generic")
        return "customers.contact", int(
            bool(title) and contact.title != title
        )  # a blank cell keeps the value
    if path == "job":
        title = TITLES[choice]
        async_task("kyogyo.audit.tests.test_every_path.set_title", contact.pk, title, sync=True)
        return "customers.contact", int(contact.title != title)
    segment = SEGMENTS[choice]  # bulk: a QuerySet.update, as bulk actions and jobs write
    with origin("bulk", actor=world["people"].manager, label="assign segment"):
        Account.objects.filter(pk=account.pk).update(segment=segment)
    return "customers.account", int(account.segment != segment)


@pytest.mark.django_db
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=operations)
def test_history_rows_equal_writes_on_every_path(world, sequence):
    for step, (path, choice) in enumerate(sequence):
        last = Change.objects.order_by("-id").values_list("id", flat=True).first() or 0
        model, expected = write(world, path, choice, step)
        added = list(Change.objects.filter(id__gt=last, model=model))
        changed_values = sum(len(change.changes) for change in added if change.operation == "update")
        if path == "cli":
            assert [c.operation for c in added] == ["create"]
        else:
            assert changed_values == expected, (path, choice, [c.changes for c in added])
            assert len(added) == (1 if expected else 0), (path, [c.changes for c in added])
        assert {c.path for c in added} <= {path}, (path, {c.path for c in added})
