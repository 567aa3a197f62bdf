"""The merged timeline: every source, newest first, paged by cursor without gaps or
repeats (also across events of one instant and dated events), bounded queries."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kyogyo.customers import timeline
from kyogyo.customers.notes import add_note
from kyogyo.customers.timeline import Cursor
from kyogyo.marketing.actions import record_activity
from kyogyo.success.models import Subscription, SubscriptionChange

ALL_KINDS = {
    "activity",
    "nps",
    "transition",
    "handoff",
    "handoff_acted",
    "deal",
    "deal_closed",
    "subscription",
    "note",
}


def _walk_pages(sources, per_page):
    seen, cursor, pages = [], None, 0
    while True:
        page = timeline.page_of(sources, cursor, per_page=per_page)
        seen += [(event.kind, event.id) for event in page.events]
        pages += 1
        assert pages < 500
        if page.older is None:
            return seen
        cursor = page.older


def test_a_contact_timeline_has_every_source_newest_first(story):
    page = timeline.page_of(timeline.contact_sources(story.customer), per_page=200)
    assert {event.kind for event in page.events} == ALL_KINDS
    keys = [event.cursor for event in page.events]
    assert keys == sorted(keys, reverse=True)
    assert page.older is None and page.is_first
    # the NPS answer is shown once, as an answer (not again as its survey activity)
    assert [e.kind for e in page.events].count("nps") == 1
    assert not any(e.kind == "activity" and e.obj.type == "survey_answer" for e in page.events)


def test_teams_are_attributed(story):
    page = timeline.page_of(timeline.contact_sources(story.customer), per_page=200)
    teams = {event.kind: event.team.key for event in page.events if event.team}
    assert teams["nps"] == "customer_success"
    assert teams["deal"] == "field_sales"
    assert teams["note"] == "field_sales"


def test_paging_walks_the_whole_history_without_gaps_or_repeats(story):
    for sources in (timeline.contact_sources(story.customer), timeline.account_sources(story.account)):
        everything = [(e.kind, e.id) for e in timeline.page_of(sources, per_page=500).events]
        for per_page in (1, 3, 7):
            assert _walk_pages(sources, per_page) == everything


def test_events_of_one_instant_and_of_one_day_page_cleanly(people, make_contact, playbook):
    contact = make_contact(first_name="Same", last_name="Moment")
    at = timezone.now().replace(microsecond=0) - dt.timedelta(days=3)
    for _ in range(3):
        record_activity(contact, "web_visit", at)
        add_note(author=people.marketer, contact=contact, body="same instant", at=at)
    subscription = Subscription.objects.create(
        account=contact.account, plan="P", mrr=1, starts_on=at.date(), status="active"
    )
    for n in range(3):
        SubscriptionChange.objects.create(
            subscription=subscription, kind="new", occurred_on=at.date(), mrr_before=n, mrr_after=n + 1
        )
    sources = timeline.account_sources(contact.account)
    everything = [(e.kind, e.id) for e in timeline.page_of(sources, per_page=500).events]
    assert len(everything) >= 9 + 1  # 3 touches, 3 notes, 3 changes, the person's first stage
    for per_page in (1, 2, 4):
        assert _walk_pages(sources, per_page) == everything


def test_the_account_timeline_has_its_people_and_its_own_records(story):
    page = timeline.page_of(timeline.account_sources(story.account), per_page=500)
    people = {e.obj.subject_id for e in page.events if e.kind == "transition"}
    assert people == {story.customer.pk, story.colleague.pk}
    rejected = [e for e in page.events if e.kind == "handoff_acted" and e.obj.status == "rejected"]
    assert rejected and rejected[0].obj.reason.key == "no_budget"
    assert rejected[0].obj.note == "Budget is set in April; call again then."
    notes = [e.obj for e in page.events if e.kind == "note"]
    assert {n.account_id is not None for n in notes} == {True, False}  # its own and its people's


def test_a_person_with_no_history_has_an_empty_timeline(people, make_contact):
    from kyogyo.customers.actions import create_contact

    bare = create_contact(first_name="No", last_name="One", email="no.one@example.jp", at=timezone.now())
    page = timeline.page_of(timeline.contact_sources(bare))
    assert [e.kind for e in page.events] in ([], ["transition"])
    assert page.older is None


def test_a_malformed_cursor_reads_as_the_newest_page():
    for raw in (None, "", "x", "1.2", "1.2.x", "-1.2.3", "9" * 30 + ".1.1", "1.2.3.4"):
        assert Cursor.decode(raw) is None
    cursor = Cursor(timezone.now(), 3, 42)
    decoded = Cursor.decode(cursor.encode())
    assert decoded == cursor


def test_a_page_costs_the_same_queries_however_long_the_history(people, make_contact, playbook):
    def queries_for(touches: int) -> int:
        contact = make_contact()
        start = timezone.now() - dt.timedelta(days=10)
        for n in range(touches):
            record_activity(contact, "web_visit", start + dt.timedelta(minutes=n))
            add_note(author=people.marketer, contact=contact, body=f"@csm note {n}", at=start)
        with CaptureQueriesContext(connection) as captured:
            page = timeline.page_of(timeline.contact_sources(contact))
            assert page.events
        return len(captured.captured_queries)

    assert queries_for(2) == queries_for(40)
