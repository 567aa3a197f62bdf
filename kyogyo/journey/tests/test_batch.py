"""``JourneyBatch``: many subjects' moves planned in memory and written together. Their
activities are read only for the subjects whose rules get as far as counting them, with
the same outcome as reading everyone's; a subject moved by someone else after the batch
read it is left alone."""

from __future__ import annotations

import datetime as dt
import re

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from kyogyo.customers.models import Contact
from kyogyo.journey import actions, rulebook
from kyogyo.journey.models import Milestone, Transition
from kyogyo.marketing.actions import ActivityInput, record_activities
from kyogyo.marketing.models import Activity
from kyogyo.testing import T0

DAY = dt.timedelta(days=1)


def planned(batch: actions.JourneyBatch) -> list[tuple[int, str, int, str]]:
    return [(c.pk, p.to_key, p.seq, p.hash) for c, p in batch.planned]


def test_activities_are_read_only_for_subjects_whose_rules_count_them(make_contact):
    # The MQL rule asks fit ≥ 50 and engagement ≥ 30 before it counts activities: only the
    # good fits that engaged get that far (the poor fits fail on fit, the idle on engagement).
    good = [make_contact(at=T0) for _ in range(3)]
    poor = [make_contact(at=T0, employees=None, industry="", country="", title="") for _ in range(3)]
    idle = [make_contact(at=T0) for _ in range(2)]
    at = T0 + DAY
    # Meetings engage (10 points each) but are not among the activities the rule counts.
    record_activities([ActivityInput(c.pk, "meeting", at) for c in good + poor for _ in range(4)], now=at)
    for contact in good[:2]:  # a demo that came in without the rules running (as a bulk load writes it)
        Activity.objects.create(contact=contact, type="demo", occurred_at=at)
    contacts = list(
        Contact.objects.filter(pk__in=[c.pk for c in good + poor + idle]).select_related("account")
    )
    book = rulebook.load()
    times = {c.pk: at + dt.timedelta(hours=1) for c in contacts}
    with transaction.atomic():
        lazy = actions.JourneyBatch.load([c.pk for c in contacts], book.stages)
        with CaptureQueriesContext(connection) as captured:
            lazy.run_rules(contacts, times, book)
        eager = actions.JourneyBatch.load([c.pk for c in contacts], book.stages)
        eager.run_rules(contacts, times, book, touches=actions.touches_within(contacts, times, book))
        transaction.set_rollback(True)

    assert planned(lazy) == planned(eager)
    assert [(pk, to) for pk, to, _, _ in planned(lazy)] == [(c.pk, "mql") for c in good[:2]]
    reads = [q["sql"] for q in captured if "marketing_activity" in q["sql"]]
    assert len(reads) == 1
    read_for = {int(n) for n in re.findall(r"\d+", reads[0].split(" IN (")[1].split(")")[0])}
    assert read_for == {c.pk for c in good}


def test_a_subject_moved_meanwhile_is_left_alone(make_contact, people):
    contact = make_contact(at=T0)
    book = rulebook.load()
    batch = actions.JourneyBatch.load([contact.pk], book.stages)
    batch.advance(contact, "nurture", at=T0 + DAY, via=Transition.Via.USER, actor=people.marketer)
    # Someone else moves the person after the batch read their milestones row.
    actions.advance(contact, "mql", at=T0 + DAY, actor=people.marketer)

    with transaction.atomic():
        assert batch.write() == []
    assert Milestone.objects.get(pk=contact.pk).current_stage.key == "mql"
    assert Transition.objects.filter(subject=contact).count() == 2
