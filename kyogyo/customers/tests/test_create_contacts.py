"""``create_contacts`` writes exactly what ``create_contact`` writes person by person: the
same people are built both ways (each in a transaction rolled back afterwards) and every
written row is compared — contacts with their fit scores, transitions with their hash
chains, milestones, handoffs with their assignees, routing cursors and webhook deliveries.
Ids are compared by rank (PostgreSQL does not hand a rolled-back id out again)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import models, transaction

from kyogyo.customers import actions
from kyogyo.customers.models import Account, Contact
from kyogyo.handoffs.models import Handoff, RoutingCursor, RoutingRule
from kyogyo.journey.actions import publish_rule
from kyogyo.journey.evaluation import Candidate
from kyogyo.journey.models import Milestone, Transition
from kyogyo.org.models import Team
from kyogyo.testing import T0
from kyogyo.webhooks.actions import create_endpoint
from kyogyo.webhooks.models import Delivery

WRITTEN: list[type[models.Model]] = [
    Account,
    Contact,
    Transition,
    Milestone,
    Handoff,
    RoutingCursor,
    Delivery,
]
# Columns holding ids of rows written in the run, and the table they point into.
REFERENCES: dict[str, type[models.Model] | None] = {
    "id": None,  # the row's own table
    "subject_id": Contact,
    "account_id": Account,
    "transition_id": Transition,
    "resolution_id": Transition,
}

# Ids in a webhook event's data.
EVENT_IDS: dict[str, type[models.Model]] = {
    "transition_id": Transition,
    "handoff_id": Handoff,
    "subject_id": Contact,
}


@pytest.fixture
def world(people):
    """A rule that sends high-fit leads straight to MQL (so creating a person can open a
    handoff), an enterprise routing pool, companies of every kind and a webhook endpoint."""
    publish_rule(
        Candidate(
            key="fast-track",
            stage="mql",
            from_stages=("lead", "nurture"),
            condition={"metric": "fit_score", "op": "gte", "value": 80},
            priority=40,
        ),
        at=T0 - dt.timedelta(days=30),
    )
    rule = RoutingRule.objects.create(
        team=Team.objects.get(key=Team.INSIDE_SALES),
        name="Enterprise",
        priority=10,
        condition={"field": "account.employee_count", "op": "gte", "value": 1000},
    )
    rule.users.set([people.is_rep2])
    create_endpoint(
        "https://hooks.example.com/in",
        ["*"],
        secret="s3cret-s3cret-s3cret",
        resolver=lambda h, p: ["8.8.8.8"],
    )

    def company(n: int, employees: int, kind: str = "prospect", industry: str = "software") -> Account:
        return actions.create_account(
            at=T0 - dt.timedelta(days=60),
            name=f"Company {n}",
            domain=f"company{n}.example.jp",
            industry=industry,
            employee_count=employees,
            country="JP",
            kind=kind,
        )

    return {
        "big": company(1, 5000),
        "mid": company(2, 400),
        "small": company(3, 20, industry="construction"),
        "rival": company(4, 800, kind="competitor"),
        "partner": company(5, 300, kind="partner"),
        "people": people,
    }


def rows_for(world: dict) -> list[dict[str, Any]]:
    """People of every outcome: fast-tracked to MQL (handoff; enterprise pool or the team's
    rotation), left as leads, disqualified as competitor, partner, student or free mail."""
    companies = [world["big"], world["mid"], world["small"], world["rival"], world["partner"], None]
    titles = ["IT Manager", "Engineer", "Student", "部長", ""]
    rows = []
    for n in range(60):
        company = companies[n % len(companies)]
        domain = "gmail.com" if company is None else f"company{company.pk}.example.jp"
        rows.append(
            {
                "at": T0 + dt.timedelta(minutes=37 * n),
                "account": company,
                "email": f" Person{n}@{domain} ",
                "first_name": "Taro",
                "last_name": f"Yamada{n}",
                "title": titles[n % len(titles)],
                "consent": "granted" if n % 2 else "unknown",
                "source": "trade-show",
                "external_id": f"crm:{n}" if n % 3 else None,
                "owner": world["people"].marketer if n % 4 == 0 else None,
            }
        )
    return rows


def written(since: dict[type[models.Model], int]) -> dict[str, list]:
    """Rows written since ``since`` (the largest id per table before the run), ids as ranks."""
    new = {
        model: list(model._default_manager.filter(pk__gt=since[model]).order_by("pk").values())
        for model in WRITTEN
    }
    rank = {
        model: {row[model._meta.pk.attname]: i for i, row in enumerate(rows)} for model, rows in new.items()
    }
    dumped: dict[str, list] = {}
    for model, rows in new.items():
        out = []
        for row in rows:
            row = dict(row)
            for column, target in REFERENCES.items():
                if column in row and row[column] is not None:
                    row[column] = rank[target or model].get(row[column], ("old", row[column]))
            if model is Delivery:
                body = json.loads(row.pop("body"))
                row.pop("event_id"), row.pop("created_at"), row.pop("next_attempt_at")
                body.pop("id"), body.pop("time")
                data = body["data"]
                for key, table in EVENT_IDS.items():
                    if key in data:
                        data[key] = rank[table][data[key]]
                row["body"] = body
            out.append(row)
        dumped[model.__name__] = out
    return dumped


def last_ids() -> dict[type[models.Model], int]:
    return {m: m._default_manager.aggregate(m=models.Max("pk"))["m"] or 0 for m in WRITTEN}


class RolledBack(Exception):
    pass


def build(django_capture_on_commit_callbacks, make: Any) -> dict[str, list]:
    """Run ``make`` in a transaction, run its after-commit work, dump what it wrote, roll back."""
    since = last_ids()
    try:
        with transaction.atomic():
            with django_capture_on_commit_callbacks(execute=True):
                make()
            dump = written(since)
            raise RolledBack
    except RolledBack:
        pass
    return dump


def test_batch_writes_the_same_rows_as_one_by_one(world, django_capture_on_commit_callbacks):
    rows = rows_for(world)
    marketer = world["people"].marketer

    def one_by_one() -> None:
        for n, row in enumerate(rows):
            actions.create_contact(**row, actor=marketer if n >= 40 else None)

    def in_batches() -> None:
        actions.create_contacts(rows[:25])
        actions.create_contacts(rows[25:40])
        actions.create_contacts(rows[40:], actor=marketer)

    expected = build(django_capture_on_commit_callbacks, one_by_one)
    actual = build(django_capture_on_commit_callbacks, in_batches)

    assert len(expected["Contact"]) == 60
    assert len(expected["Handoff"]) >= 5
    assert {t["via"] for t in expected["Transition"]} == {"system", "user", "rule"}
    assert {t["reason_id"] for t in expected["Transition"]} - {None}, "some people are disqualified"
    assert {d["event_type"] for d in expected["Delivery"]} == {"stage.changed", "handoff.created"}
    assert {c["fit_score"] for c in expected["Contact"]} >= {0, 100}
    for table, want in expected.items():
        assert len(actual[table]) == len(want), table
        mismatched = [(a, b) for a, b in zip(actual[table], want, strict=True) if a != b]
        assert not mismatched, f"{table}: {len(mismatched)} rows differ, e.g. {mismatched[0]}"


def test_invalid_rows_are_named_as_create_contact_would_and_nothing_is_written(world):
    good = {"email": "ok@company1.example.jp", "account": world["big"], "at": T0}
    actions.create_contact(email="taken@company1.example.jp", external_id="crm:taken", at=T0)
    rows = [
        good,
        {"email": "not-an-email", "at": T0},
        {"email": "TAKEN@company1.example.jp ", "at": T0},
        {"email": "ok@company1.example.jp", "at": T0},  # the first row's, which is valid
        {"email": "fine@company1.example.jp", "colour": "blue"},
        {"email": "long@company1.example.jp", "title": "x" * 151, "external_id": "crm:taken"},
        {"email": "ghost@company1.example.jp", "account": Account(pk=987654, name="Ghost")},
        {"email": "bad@", "external_id": "crm:taken", "consent": "maybe"},
        {"email": "second@company1.example.jp", "external_id": "crm:new"},
    ]
    before = Contact.objects.count(), Transition.objects.count()
    with pytest.raises(actions.RowErrors) as info:
        actions.create_contacts(rows)
    assert (Contact.objects.count(), Transition.objects.count()) == before
    assert sorted(info.value.errors) == [1, 2, 3, 4, 5, 6, 7]

    # One by one, each in its own savepoint, in order: the same errors, message for message.
    one_by_one = {}
    with transaction.atomic():
        for index, row in enumerate(rows):
            try:
                with transaction.atomic():
                    actions.create_contact(**row)
            except ValidationError as error:
                one_by_one[index] = error.message_dict
        transaction.set_rollback(True)
    assert {i: e.message_dict for i, e in info.value.errors.items()} == one_by_one
    assert list(one_by_one[7]) == list(info.value.errors[7].message_dict)  # same field order
    assert "row 2: Contact with this Email already exists." in str(info.value)

    created = actions.create_contacts([r for i, r in enumerate(rows) if i not in info.value.errors])
    assert [c.email for c in created] == ["ok@company1.example.jp", "second@company1.example.jp"]
    assert Milestone.objects.filter(subject__in=created).count() == 2


def test_without_at_people_are_created_now_and_without_start_journey_no_journey(world):
    created = actions.create_contacts([{"email": "a@company1.example.jp"}], start_journey=False)
    assert created[0].pk and created[0].created_at is not None
    assert not Transition.objects.filter(subject=created[0]).exists()
    assert actions.create_contacts([]) == []


def test_values_that_plainly_pass_are_stored_as_cleaning_would_store_them(world):
    """Rows are cleaned only when a value is not plainly valid already (text of the right
    length, a known choice, an email address validate_email accepts): any other value —
    the wrong type, too long, unknown — goes through full_clean, so the outcome is the
    same as create_contact's, row by row."""
    rows = [
        {"email": "plain@company1.example.jp", "title": "x" * 150, "consent": "granted", "at": T0},
        {"email": "number@company1.example.jp", "title": 5, "at": T0},  # cleaned: stored as "5"
        {"email": "long@company1.example.jp", "first_name": "y" * 101, "at": T0},
        {"email": "choice@company1.example.jp", "consent": Contact.Consent.WITHDRAWN, "at": T0},
        {"email": "odd@company1.example.jp", "consent": "Granted", "at": T0},
        {"email": "user@-bad-.example.jp", "at": T0},
        {"email": "dots..twice@company1.example.jp", "at": T0},
        {"email": "localhost@localhost", "source": "", "phone": "", "at": T0},
        {"email": None, "external_id": "crm:no-email", "at": T0},
    ]

    def outcome(make: Any) -> list[Any]:
        results: list[Any] = []
        with transaction.atomic():
            for row in rows:
                try:
                    with transaction.atomic():
                        contact = make(dict(row))
                except (ValidationError, actions.RowErrors) as error:
                    errors = error.errors[0] if isinstance(error, actions.RowErrors) else error
                    results.append(errors.message_dict)
                else:
                    stored = Contact.objects.values(
                        "email", "title", "first_name", "consent", "external_id", "created_at"
                    ).get(pk=contact.pk)
                    results.append(stored)
            transaction.set_rollback(True)
        return results

    one_by_one = outcome(lambda row: actions.create_contact(**row))
    in_batches = outcome(lambda row: actions.create_contacts([row])[0])
    assert in_batches == one_by_one
    assert one_by_one[1]["title"] == "5"
    assert set(one_by_one[2]) == {"first_name"} and set(one_by_one[4]) == {"consent"}
    assert set(one_by_one[5]) == {"email"} and set(one_by_one[6]) == {"email"}
