"""``Table`` writes the rows ``bulk_create`` writes, with ids the database hands out (never
one used before, even by a row since deleted)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from kyogyo.customers.models import Account, Contact
from kyogyo.journey.models import Milestone, Stage
from kyogyo.ops.rows import Table
from kyogyo.testing import T0


def stored(model, pks) -> list[dict]:
    rows = list(model.objects.filter(pk__in=pks).order_by("pk").values())
    for row in rows:
        row.pop(model._meta.pk.attname)
    return rows


@pytest.mark.django_db
def test_rows_are_stored_as_bulk_create_stores_them():
    moment = dt.datetime(2026, 4, 6, 10, 0, 0, 1234, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    values = {"name": "Acme 株式会社", "domain": "acme.example", "employee_count": 120, "kind": "partner"}
    by_orm = Account.objects.bulk_create(
        [Account(created_at=moment, **values), Account(created_at=T0, name="B")]
    )
    table = Table(Account)
    with transaction.atomic():
        ids = table.insert(
            [
                table.values_of(Account(created_at=moment, **values)),
                table.values_of(Account(created_at=T0, name="B")),
            ]
        )
    assert ids == sorted(ids) and ids[0] > by_orm[1].pk
    assert stored(Account, ids) == stored(Account, [a.pk for a in by_orm])


@pytest.mark.django_db
def test_ids_are_never_used_twice_and_json_and_booleans_survive(defaults):
    table = Table(Contact)
    with transaction.atomic():
        first = table.insert(
            [table.values_of(Contact(created_at=T0, email=f"p{i}@x.example.jp")) for i in range(3)]
        )
    Contact.objects.filter(pk=first[-1]).delete()
    with transaction.atomic():
        again = table.insert([table.values_of(Contact(created_at=T0, email="q@x.example.jp"))])
    assert again[0] > first[-1]

    lead = Stage.objects.get(key="lead")
    milestones = Table(Milestone)
    row = Milestone(
        subject_id=first[0],
        current_stage_id=lead.pk,
        current_since=T0,
        first_entered={"lead": "2026-04-06T01:00:00.000000+00:00"},
        entries={"lead": 1},
        transition_count=1,
        last_hash="x" * 32,
    )
    with transaction.atomic():
        assert milestones.insert([milestones.values_of(row)]) == [first[0]]
    saved = Milestone.objects.get(pk=first[0])
    assert (saved.first_entered, saved.entries, saved.current_since) == (row.first_entered, {"lead": 1}, T0)


@pytest.mark.django_db
def test_rows_written_in_bulk_have_the_history_a_single_create_has(defaults):
    """On SQLite the bulk writer records its rows itself, in one statement (the row trigger
    stands aside); on PostgreSQL the statement trigger does. Either way: the rows, values,
    origin and order of an ORM create."""
    from kyogyo.audit.context import origin
    from kyogyo.audit.models import Change

    def history(pks) -> list[tuple]:
        rows = Change.objects.filter(model="customers.contact", object_id__in=[str(pk) for pk in pks])
        return [(c.operation, c.changes, c.path, c.label, c.actor_id) for c in rows.order_by("id")]

    people = [
        {"email": "a@x.example.jp", "first_name": "花子", "last_name": "佐藤", "external_id": "e-1"},
        {"email": None, "first_name": "B", "last_name": "", "title": "CTO"},
    ]

    def again(values: dict) -> dict:  # the same values but the unique ones
        unique = {k: f"2{v}" for k, v in values.items() if k in ("email", "external_id") and v}
        return {**values, **unique}

    with origin("import", label="run 1"):
        by_orm = [Contact.objects.create(created_at=T0, **values) for values in people]
        table = Table(Contact)
        with transaction.atomic():
            ids = table.insert([table.values_of(Contact(created_at=T0, **again(v))) for v in people])
    written = history(ids)
    expected = history([c.pk for c in by_orm])
    for change in expected:
        for name in ("email", "external_id"):
            if name in change[1]:
                change[1][name][1] = f"2{change[1][name][1]}"
    assert written == expected
    assert [row[0] for row in written] == ["create", "create"] and written[0][2:4] == ("import", "run 1")
    in_order = Change.objects.filter(model="customers.contact", object_id__in=[str(i) for i in ids])
    assert [int(pk) for pk in in_order.order_by("id").values_list("object_id", flat=True)] == ids

    with origin("demo"), transaction.atomic():  # a silent origin writes no history either way
        quiet = table.insert([table.values_of(Contact(created_at=T0, email="q@x.example.jp"))])
    assert history(quiet) == []
