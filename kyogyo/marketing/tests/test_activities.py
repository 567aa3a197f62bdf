"""Recording activities: per-item validation, de-duplication by external id, engagement
scores folded in with half-life decay, and the journey started by a person's first touch.

Real database, real actions; times are fixed relative to ``T0`` (Monday 2026-04-06 10:00 Tokyo).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction

from kyogyo.customers.models import Contact
from kyogyo.journey.models import Milestone, Transition
from kyogyo.marketing.actions import (
    MAX_PAYLOAD_BYTES,
    ActivityError,
    ActivityInput,
    record_activities,
    record_activity,
)
from kyogyo.marketing.models import Activity, Campaign
from kyogyo.scoring.actions import explain_engagement
from kyogyo.scoring.engine import decayed
from kyogyo.testing import T0

DAY = dt.timedelta(days=1)
HALF_LIFE = 30.0
# Ingest as if it were a little after T0, so "the future" is hand-checkable.
NOW = T0 + dt.timedelta(days=60)


def refresh(contact: Contact) -> Contact:
    return Contact.objects.select_related("account").get(pk=contact.pk)


def engagement_at(contact: Contact, at: dt.datetime) -> float:
    contact = refresh(contact)
    return decayed(contact.engagement_score, contact.engagement_at, at, HALF_LIFE)


@pytest.fixture
def campaign(db) -> Campaign:
    return Campaign.objects.create(name="Spring webinar", channel="event")


# ------------------------------------------------------------------ mixed batches


def test_mixed_batch_reports_each_bad_item_and_keeps_every_valid_one(make_contact, campaign):
    contact = make_contact(title="Engineer")
    other = make_contact(title="Engineer")
    items = [
        ActivityInput(contact.pk, "web_visit", T0 + dt.timedelta(hours=1), source="v0"),
        ActivityInput(contact.pk, "webinar", T0, source="bad-type"),
        ActivityInput(contact.pk, "web_visit", T0.replace(tzinfo=None), source="naive"),
        ActivityInput(contact.pk, "web_visit", NOW + dt.timedelta(hours=1), source="future"),
        ActivityInput(contact.pk, "note", T0, source="not-json", payload={"when": T0}),
        ActivityInput(
            contact.pk,
            "note",
            T0,
            source="too-large",
            payload={"blob": "x" * (MAX_PAYLOAD_BYTES + 1)},
        ),
        ActivityInput(999_999, "web_visit", T0, source="no-contact"),
        ActivityInput(contact.pk, "event", T0, source="no-campaign", campaign_id=888_888),
        ActivityInput(other.pk, "event", T0 + dt.timedelta(hours=2), source="v8", campaign_id=campaign.pk),
        ActivityInput(contact.pk, "note", T0, source="nan", payload={"x": float("nan")}),
        ActivityInput(contact.pk, "note", T0, source="list", payload=["not", "an", "object"]),  # type: ignore[arg-type]
        ActivityInput(
            contact.pk,
            "email_click",
            NOW + dt.timedelta(minutes=4),
            source="v11",
            payload={"url": "https://example.jp/x", "n": 1},
        ),
    ]

    result = record_activities(items, now=NOW)

    errors = {e.index: e for e in result.errors}
    assert len(result.errors) == len(errors), "one error per bad item here"
    assert {i: (e.field, e.code) for i, e in errors.items()} == {
        1: ("type", "unknown_type"),
        2: ("occurred_at", "bad_time"),
        3: ("occurred_at", "in_future"),
        4: ("payload", "bad_payload"),
        5: ("payload", "too_large"),
        6: ("contact_id", "unknown_contact"),
        7: ("campaign_id", "unknown_campaign"),
        9: ("payload", "bad_payload"),
        10: ("payload", "bad_payload"),
    }
    assert "'webinar'" in errors[1].message and "web_visit" in errors[1].message
    assert "time zone" in errors[2].message
    assert "future" in errors[3].message
    assert "JSON" in errors[4].message and "JSON" in errors[9].message
    assert str(MAX_PAYLOAD_BYTES) in errors[5].message
    assert "999999" in errors[6].message
    assert "888888" in errors[7].message
    assert "object" in errors[10].message

    assert result.duplicates == 0
    assert sorted(a.source for a in result.created) == ["v0", "v11", "v8"]
    stored = list(Activity.objects.order_by("source").values_list("source", "contact_id", "type"))
    assert stored == [
        ("v0", contact.pk, "web_visit"),
        ("v11", contact.pk, "email_click"),
        ("v8", other.pk, "event"),
    ]
    assert Activity.objects.get(source="v8").campaign_id == campaign.pk
    assert Activity.objects.get(source="v11").payload == {"url": "https://example.jp/x", "n": 1}


def test_a_batch_of_only_bad_items_writes_nothing(make_contact):
    contact = make_contact()
    before = refresh(contact)
    result = record_activities(
        [
            ActivityInput(contact.pk, "nope", T0),
            ActivityInput(contact.pk, "web_visit", T0.replace(tzinfo=None)),
        ],
        now=NOW,
    )
    assert [(e.index, e.code) for e in result.errors] == [(0, "unknown_type"), (1, "bad_time")]
    assert result.created == [] and result.transitions == []
    assert not Activity.objects.exists()
    after = refresh(contact)
    assert (after.engagement_score, after.engagement_at, after.last_activity_at) == (
        before.engagement_score,
        before.engagement_at,
        before.last_activity_at,
    )


def test_an_item_can_carry_several_errors(make_contact):
    contact = make_contact()
    result = record_activities(
        [
            ActivityInput(
                contact.pk, "nope", NOW + DAY, source="s" * 61, external_id="", payload={"x": {1, 2}}
            )
        ],
        now=NOW,
    )
    assert sorted((e.index, e.field, e.code) for e in result.errors) == [
        (0, "external_id", "bad_external_id"),
        (0, "occurred_at", "in_future"),
        (0, "payload", "bad_payload"),
        (0, "source", "too_long"),
        (0, "type", "unknown_type"),
    ]
    assert not Activity.objects.exists()


def test_a_time_within_the_allowed_clock_skew_is_accepted(make_contact):
    contact = make_contact()
    result = record_activities(
        [
            ActivityInput(contact.pk, "web_visit", NOW + dt.timedelta(minutes=5)),
            ActivityInput(contact.pk, "web_visit", NOW + dt.timedelta(minutes=5, seconds=1)),
        ],
        now=NOW,
    )
    assert [(e.index, e.code) for e in result.errors] == [(1, "in_future")]
    assert len(result.created) == 1


def test_a_malformed_contact_id_is_an_item_error_not_a_batch_failure(make_contact):
    contact = make_contact()
    result = record_activities(
        [
            ActivityInput("abc", "web_visit", T0),  # type: ignore[arg-type]
            ActivityInput(contact.pk, "web_visit", T0, source="good"),
        ],
        now=NOW,
    )
    assert [(e.index, e.field) for e in result.errors] == [(0, "contact_id")]
    assert list(Activity.objects.values_list("source", flat=True)) == ["good"]


def test_an_unknown_actor_is_an_item_error_and_the_rest_goes_in(make_contact):
    contact = make_contact()
    with transaction.atomic():
        try:
            result = record_activities(
                [
                    ActivityInput(contact.pk, "call", T0, source="bad", actor_id=777_777),
                    ActivityInput(contact.pk, "call", T0, source="good"),
                ],
                now=NOW,
            )
            # What COMMIT does with the deferred foreign keys:
            connection.check_constraints()
            assert [(e.index, e.field) for e in result.errors] == [(0, "actor_id")]
            assert list(Activity.objects.values_list("source", flat=True)) == ["good"]
        finally:
            transaction.set_rollback(True)


# ------------------------------------------------------------------ duplicates


def test_duplicate_external_ids_within_a_batch_are_stored_once(make_contact):
    contact = make_contact()
    result = record_activities(
        [
            ActivityInput(contact.pk, "web_visit", T0, external_id="ext-1", source="first"),
            ActivityInput(contact.pk, "web_visit", T0 + DAY, external_id="ext-1", source="second"),
            ActivityInput(contact.pk, "web_visit", T0, external_id="ext-2", source="third"),
            ActivityInput(contact.pk, "web_visit", T0, source="no-id-a"),
            ActivityInput(contact.pk, "web_visit", T0, source="no-id-b"),
        ],
        now=NOW,
    )
    assert result.errors == []
    assert result.duplicates == 1
    assert sorted(a.source for a in result.created) == ["first", "no-id-a", "no-id-b", "third"]
    assert Activity.objects.filter(external_id="ext-1").get().source == "first"
    assert Activity.objects.count() == 4
    # The duplicate's touch is not counted twice in the score: 4 web visits at T0 … T0 (weight 1).
    assert engagement_at(contact, T0) == pytest.approx(4.0)


def test_duplicate_external_ids_against_the_database_are_stored_once(make_contact):
    contact = make_contact()
    first = record_activities(
        [ActivityInput(contact.pk, "form_submission", T0, external_id="crm-42")], now=NOW
    )
    assert len(first.created) == 1 and first.duplicates == 0
    score = refresh(contact).engagement_score

    again = record_activities(
        [
            ActivityInput(contact.pk, "form_submission", T0, external_id="crm-42"),
            ActivityInput(contact.pk, "form_submission", T0 + DAY, external_id="crm-43"),
        ],
        now=NOW,
    )
    assert again.errors == []
    assert again.duplicates == 1
    assert [a.external_id for a in again.created] == ["crm-43"]
    assert Activity.objects.filter(external_id="crm-42").count() == 1
    assert Activity.objects.count() == 2

    only_dupes = record_activities(
        [ActivityInput(contact.pk, "form_submission", T0, external_id="crm-42")], now=NOW
    )
    assert only_dupes.duplicates == 1 and only_dupes.created == [] and only_dupes.errors == []
    assert refresh(contact).engagement_score == pytest.approx(score * 0.5 ** (1 / 30) + 10)


def test_a_bad_item_does_not_claim_its_external_id(make_contact):
    contact = make_contact()
    result = record_activities(
        [
            ActivityInput(contact.pk, "web_visit", NOW + DAY, external_id="x-1", source="future"),
            ActivityInput(contact.pk, "web_visit", T0, external_id="x-1", source="ok"),
        ],
        now=NOW,
    )
    assert [(e.index, e.code) for e in result.errors] == [(0, "in_future")]
    assert result.duplicates == 0
    assert Activity.objects.get(external_id="x-1").source == "ok"


# ------------------------------------------------------------------ record_activity


def test_record_activity_raises_for_a_bad_item_and_writes_nothing(make_contact):
    contact = make_contact()
    transitions = Transition.objects.count()
    before = refresh(contact)

    with pytest.raises(ActivityError) as caught:
        record_activity(contact, "webinar", T0)
    assert [(e.index, e.field, e.code) for e in caught.value.errors] == [(0, "type", "unknown_type")]
    assert "type: unknown activity type 'webinar'" in str(caught.value)

    with pytest.raises(ActivityError) as caught:
        record_activity(contact, "web_visit", T0.replace(tzinfo=None), payload={"x": object()})
    assert {(e.field, e.code) for e in caught.value.errors} == {
        ("occurred_at", "bad_time"),
        ("payload", "bad_payload"),
    }

    with pytest.raises(ActivityError) as caught:
        record_activity(contact, "web_visit", T0, campaign_id=123_456)
    assert [(e.field, e.code) for e in caught.value.errors] == [("campaign_id", "unknown_campaign")]

    assert not Activity.objects.exists()
    assert Transition.objects.count() == transitions
    after = refresh(contact)
    assert (after.engagement_score, after.engagement_at, after.last_activity_at) == (
        before.engagement_score,
        before.engagement_at,
        before.last_activity_at,
    )


def test_record_activity_returns_the_row_and_is_idempotent_by_external_id(make_contact):
    contact = make_contact()
    created = record_activity(contact, "demo", T0, external_id="demo-1", source="crm")
    assert created.pk is not None
    assert (created.type, created.occurred_at, created.source) == ("demo", T0, "crm")
    again = record_activity(contact, "demo", T0 + DAY, external_id="demo-1")
    assert again.pk == created.pk
    assert Activity.objects.count() == 1
    assert refresh(contact).engagement_score == pytest.approx(15.0)


# ------------------------------------------------------------------ engagement score


def test_engagement_is_the_decayed_sum_of_weighted_touches(make_contact):
    contact = make_contact(title="Engineer")
    record_activity(contact, "content_download", T0)
    record_activity(contact, "form_submission", T0 + 30 * DAY)

    stored = refresh(contact)
    assert stored.engagement_score == pytest.approx(14.0)  # 8 × ½ + 10
    assert stored.engagement_at == T0 + 30 * DAY
    assert stored.last_activity_at == T0 + 30 * DAY
    assert engagement_at(contact, T0 + 30 * DAY) == pytest.approx(14.0)
    assert engagement_at(contact, T0 + 60 * DAY) == pytest.approx(7.0)
    assert engagement_at(contact, T0 + 90 * DAY) == pytest.approx(3.5)


def test_engagement_does_not_depend_on_the_order_touches_arrive_in(make_contact):
    in_order = make_contact(title="Engineer")
    reversed_ = make_contact(title="Engineer")
    one_batch = make_contact(title="Engineer")
    touches = [
        ("content_download", T0),
        ("web_visit", T0 + 10 * DAY),
        ("form_submission", T0 + 30 * DAY),
        ("email_click", T0 + 45 * DAY),
    ]
    for kind, at in touches:
        record_activity(in_order, kind, at)
    for kind, at in reversed(touches):
        record_activity(reversed_, kind, at)
    record_activities([ActivityInput(one_batch.pk, kind, at) for kind, at in reversed(touches)], now=NOW)

    at = T0 + 45 * DAY
    expected = 8 * 0.5 ** (45 / 30) + 1 * 0.5 ** (35 / 30) + 10 * 0.5 ** (15 / 30) + 3 * 0.5 ** (0 / 30)
    for contact in (in_order, reversed_, one_batch):
        assert engagement_at(contact, at) == pytest.approx(expected)
        assert refresh(contact).last_activity_at == T0 + 45 * DAY
        explained = sum(c.points for c in explain_engagement(refresh(contact), at=at))
        assert explained == pytest.approx(expected)


def test_zero_weight_touches_leave_the_score_alone(make_contact):
    contact = make_contact()
    record_activity(contact, "note", T0)
    record_activity(contact, "support_ticket", T0 + DAY)
    stored = refresh(contact)
    assert stored.engagement_score == 0.0
    assert stored.last_activity_at == T0 + DAY


# ------------------------------------------------------------------ journey


def test_an_activity_starts_the_journey_of_a_person_without_one(make_contact):
    contact = make_contact(start_journey=False, title="Engineer")
    assert not Milestone.objects.filter(subject=contact).exists()

    result = record_activities(
        [
            ActivityInput(contact.pk, "web_visit", T0 + dt.timedelta(hours=5)),
            ActivityInput(contact.pk, "web_visit", T0 + dt.timedelta(hours=3)),
        ],
        now=NOW,
    )

    assert [(t.seq, t.to_stage.key, t.at, t.via) for t in result.transitions] == [
        (1, "lead", T0 + dt.timedelta(hours=3), Transition.Via.SYSTEM)
    ]
    milestone = Milestone.objects.select_related("current_stage").get(subject=contact)
    assert milestone.current_stage.key == "lead"
    assert milestone.current_since == T0 + dt.timedelta(hours=3)
    assert Transition.objects.filter(subject=contact).count() == 1

    # A later touch does not start it again.
    more = record_activities([ActivityInput(contact.pk, "web_visit", T0 + DAY)], now=NOW)
    assert more.transitions == []
    assert Transition.objects.filter(subject=contact).count() == 1


def test_engaging_touches_make_a_fitting_lead_an_mql_at_the_activity_time(make_contact):
    contact = make_contact()  # fit 100
    result = record_activities(
        [
            ActivityInput(contact.pk, "form_submission", T0 + dt.timedelta(hours=1)),
            ActivityInput(contact.pk, "content_download", T0 + dt.timedelta(hours=2)),
            ActivityInput(contact.pk, "event", T0 + dt.timedelta(hours=3)),
            ActivityInput(contact.pk, "web_visit", T0 + dt.timedelta(hours=3)),
        ],
        now=NOW,
    )
    # 10·½^(2h/30d) + 8·½^(1h/30d) + 12 + 1 ≈ 30.97 ≥ 30, with a download in the last 30 days.
    assert [(t.to_stage.key, t.at, t.via) for t in result.transitions] == [
        ("mql", T0 + dt.timedelta(hours=3), Transition.Via.RULE)
    ]
    assert result.transitions[0].handoff.status == "open"


@pytest.mark.django_db
def test_contact_pages_leave_room_for_the_score_updates_of_every_touch(on_postgres):
    # Heap-only updates of the scores need free room on the row's page (PostgreSQL only).
    if not on_postgres:
        pytest.skip("a PostgreSQL storage parameter")
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'customers_contact'")
        assert "fillfactor=90" in cursor.fetchone()[0]


def test_written_activities_are_the_rows_as_stored(make_contact):
    contact = make_contact()
    items = [ActivityInput(contact.pk, "call", T0 + dt.timedelta(hours=h), source=f"s{h}") for h in (1, 2)]
    result = record_activities(items, now=NOW)
    assert len(result.created) == 2
    assert list(result.created) == list(Activity.objects.order_by("pk"))
    assert [a.source for a in result.created] == ["s1", "s2"] and result.created[-1].pk is not None


def test_the_people_locked_for_a_batch_are_the_records_the_orm_reads(make_contact):
    from kyogyo.marketing.actions import _lock_contacts  # PostgreSQL: read in binary

    people = [make_contact(), make_contact(account=False), make_contact(employees=None)]
    people[0].last_activity_at = T0
    people[0].save(update_fields=["last_activity_at"])
    with transaction.atomic():
        locked = _lock_contacts({p.pk for p in people} | {987654})
        orm = Contact.objects.select_related("account").filter(pk__in=[p.pk for p in people]).order_by("pk")
        assert list(locked) == [p.pk for p in orm]
        for expected in orm:
            got = locked[expected.pk]
            for f in Contact._meta.concrete_fields:
                value = getattr(got, f.attname)
                assert value == getattr(expected, f.attname) and type(value) is type(
                    getattr(expected, f.attname)
                )
            assert (got.account is None) is (expected.account is None)
            if expected.account is not None:
                for f in expected.account._meta.concrete_fields:
                    assert getattr(got.account, f.attname) == getattr(expected.account, f.attname)
            assert not got._state.adding
