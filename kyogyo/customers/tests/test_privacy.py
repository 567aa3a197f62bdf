"""Personal-data rights end to end: export everything held about one person; erase them and
then search every store — every table's every text column, the analytics snapshot, the
files of the data directory, a fresh export — for their address and find nothing, with
the aggregates (stage changes, activities, the hash-chained log) unchanged; and the
suppression list keeps the create, update, batch, import and API paths from bringing them
back."""

from __future__ import annotations

import io
import json
import uuid

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import models
from django.utils import timezone

from kyogyo.customers import actions
from kyogyo.customers.models import Contact
from kyogyo.customers.privacy import erase_person, person_data
from kyogyo.handoffs.models import Handoff
from kyogyo.journey.actions import advance
from kyogyo.journey.models import Transition
from kyogyo.marketing.actions import record_activity
from kyogyo.marketing.models import Activity
from kyogyo.ops import invariants
from kyogyo.success.actions import record_nps

EMAIL = "hanako.yamada@erase-me.example.jp"


@pytest.fixture
def person(people, make_contact, walk, settings, tmp_path, api):
    """Hanako, known everywhere: a form payload, notes on her stage changes and handoff, a
    survey comment, a webhook body, an API replay record and an import file with her row."""
    settings.DATA_DIR = tmp_path / "data"
    uploads = settings.DATA_DIR / "imports" / "upload-1"
    uploads.mkdir(parents=True)
    (uploads / "contacts.csv").write_text(f"email,first_name\r\n{EMAIL.upper()},Hanako\r\n", encoding="utf-8")
    (uploads / "errors.csv").write_text(f"line,column,code,original\n2,email,duplicate,{EMAIL}\n")
    now = timezone.now()
    contact = make_contact(email=EMAIL, first_name="Hanako", last_name="Yamada", phone="03-1234-5678", at=now)
    record_activity(contact, "form_submission", now, payload={"email": EMAIL, "message": "call Hanako"})
    advance(contact, "mql", via="user", actor=people.marketer, at=now, note=f"met {EMAIL} at the fair")
    handoff = Handoff.objects.get(subject=contact, status=Handoff.Status.OPEN)
    Handoff.objects.filter(pk=handoff.pk).update(note=f"Hanako Yamada <{EMAIL}> wants a demo")
    record_nps(contact, 9, comment=f"Great! Reply to {EMAIL}", at=now)
    from kyogyo.webhooks.models import Delivery, Endpoint

    endpoint = Endpoint.objects.create(url="https://hooks.example.jp/in", secret="s", events=["*"])
    Delivery.objects.create(
        endpoint=endpoint,
        event_id=uuid.uuid4(),
        event_type="stage.changed",
        body=json.dumps({"email": EMAIL}),
    )
    client = api(people.marketer)
    answer = client.post(
        "/contacts",
        {"email": "colleague@erase-me.example.jp", "first_name": "Colleague"},
        **{"Idempotency-Key": "k-1"},
    )
    assert answer.status_code == 201, answer.content
    client.patch(f"/contacts/{answer.json()['id']}", {"title": EMAIL}, **{"Idempotency-Key": "k-2"})
    return contact


def every_text_value() -> list[str]:
    """Every text-like value in every table of every installed model."""
    values = []
    for model in apps.get_models(include_auto_created=True):
        text_fields = [
            f.attname
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField | models.JSONField | models.BinaryField)
        ]
        if not text_fields:
            continue
        for row in model._default_manager.values_list(*text_fields):
            for value in row:
                if isinstance(value, bytes | memoryview):
                    value = bytes(value).decode("utf-8", "replace")
                values.append(json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value)
    return values


def snapshot_texts() -> list[str]:
    from kyogyo.analytics import snapshot

    snapshot.refresh()
    current = snapshot.open_current()
    texts: list[str] = []
    for (table,) in current.query("SHOW TABLES"):
        for row in current.query(f'SELECT * FROM "{table}"'):
            texts.extend(str(value) for value in row)
    return texts


def test_export_holds_everything_about_the_person(person):
    data = person_data(person)
    assert data["person"]["email"] == EMAIL
    assert data["person"]["phone"] == "03-1234-5678"
    assert [c["to"] for c in data["stage_changes"]] == ["lead", "mql"]
    assert any("wants a demo" in h["note"] for h in data["handoffs"])
    assert data["survey_answers"][0]["comment"].startswith("Great!")
    assert any(a["payload"].get("email") == EMAIL for a in data["activities"])


def test_export_command_writes_json(person, tmp_path):
    target = tmp_path / "hanako.json"
    call_command("privacy", "export", "--email", EMAIL.upper(), "-o", str(target), stdout=io.StringIO())
    assert json.loads(target.read_text())["person"]["last_name"] == "Yamada"


def test_erasure_leaves_the_address_in_no_store(person, people, settings, analytics):
    assert any(EMAIL in value.lower() for value in every_text_value())
    transitions = Transition.objects.filter(subject=person).count()
    activities = Activity.objects.filter(contact=person).count()

    out = io.StringIO()
    call_command("privacy", "erase", "--email", EMAIL, "--yes", "--reason", "request by mail", stdout=out)
    assert "the address is suppressed" in out.getvalue()

    assert [v for v in every_text_value() if EMAIL in v.lower()] == [], where_is(EMAIL)
    assert [v for v in every_text_value() if "Hanako" in v] == []
    assert [t for t in snapshot_texts() if EMAIL in t.lower()] == []
    for path in (settings.DATA_DIR).rglob("*"):
        if path.is_file():
            assert EMAIL not in path.read_bytes().decode("utf-8", "replace").lower(), path
    exported = io.StringIO()
    call_command("export", "contacts", stdout=exported)
    assert EMAIL not in exported.getvalue().lower()

    # the person is still an anonymous subject: aggregates and the log are whole
    person.refresh_from_db()
    assert person.email is None and person.first_name == "" and person.erased_at is not None
    assert Transition.objects.filter(subject=person).count() == transitions
    assert Activity.objects.filter(contact=person).count() == activities
    report = invariants.check()
    assert report.ok, report.violations


def test_erasing_twice_changes_nothing_more(person):
    erase_person(person, actor=None)
    again = erase_person(Contact.objects.get(pk=person.pk), actor=None)
    assert sum(again.scrubbed.values()) == 0


def test_the_log_still_refuses_every_other_change(person):
    from django.db import DatabaseError, transaction

    row = Transition.objects.filter(subject=person).last()
    with pytest.raises(DatabaseError), transaction.atomic():
        Transition.objects.filter(pk=row.pk).update(note="", via="system")
    with pytest.raises(DatabaseError), transaction.atomic():
        Transition.objects.filter(pk=row.pk).update(note="rewritten")


def test_an_erased_person_cannot_come_back(person, people, make_contact, api):
    erase_person(person, actor=people.admin, reason="request")
    with pytest.raises(ValidationError) as refused:
        actions.create_contact(email=EMAIL.upper())
    assert refused.value.error_dict["email"][0].code == "suppressed"
    other = make_contact()
    with pytest.raises(ValidationError):
        actions.update_contact(other, email=EMAIL)
    checked = actions.check_contacts([{"email": "fine@example.jp"}, {"email": EMAIL}])
    assert list(checked.errors) == [1] and checked.errors[1].error_dict["email"][0].code == "suppressed"
    answer = api(people.marketer).post("/contacts", {"email": EMAIL})
    assert answer.status_code == 422 and "erased at their request" in answer.content.decode()
    out = io.StringIO()
    call_command("privacy", "suppressed", "--email", EMAIL, stdout=out)
    assert out.getvalue().strip() == "suppressed"


def test_an_import_reports_the_suppressed_row_and_keeps_the_others(person, people, tmp_path):
    erase_person(person, actor=None)
    source = tmp_path / "back.csv"
    source.write_text(f"email,first_name\n{EMAIL},Hanako\nnew.person@example.jp,New\n", encoding="utf-8")
    out = io.StringIO()
    call_command("import", "contacts", str(source), "--preset", "generic", "--format", "json", stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["created"] == 1 and summary["errors"] == 1
    assert not Contact.objects.filter(email=EMAIL).exists()


def test_erase_asks_first(person, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda question: "n")
    with pytest.raises(CommandError, match="not erased"):
        call_command("privacy", "erase", "--email", EMAIL, stdout=io.StringIO())
    with pytest.raises(CommandError, match="no person"):
        call_command("privacy", "erase", "--email", "nobody@example.jp", "--yes", stdout=io.StringIO())


def where_is(needle: str) -> list[str]:
    found = []
    for model in apps.get_models(include_auto_created=True):
        for f in model._meta.concrete_fields:
            try:
                for value in model._default_manager.values_list(f.attname, flat=True):
                    if (
                        value is not None
                        and needle in str(bytes(value) if isinstance(value, memoryview) else value).lower()
                    ):
                        found.append(f"{model._meta.db_table}.{f.attname}")
            except Exception:
                pass
    return found
