"""Records for the person's and company's pages: a customer whose journey crossed all four
teams (touches, MQL → SAL → SQL → opportunity → won, a deal, a subscription, an NPS answer,
notes) and a colleague at the same company whose handoff was rejected with a reason."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone

from kyogyo.customers.models import Contact
from kyogyo.handoffs.models import Handoff
from kyogyo.journey.playbook import install_playbook


@pytest.fixture
def playbook(db):
    install_playbook()  # the live server's flushes empty the migration's rows


@pytest.fixture
def story(people, make_contact, walk, playbook):
    from kyogyo.customers.notes import add_note
    from kyogyo.deals.actions import qualify, win_deal
    from kyogyo.marketing.actions import record_activity
    from kyogyo.success.actions import record_nps, start_subscription

    people.csm.first_name, people.csm.last_name = "Keiko", "Sato"
    people.csm.save()
    start = timezone.now() - dt.timedelta(days=40)
    hour = dt.timedelta(hours=1)
    day = dt.timedelta(days=1)
    customer = make_contact(first_name="Hanako", last_name="Yamada", title="CIO", at=start)
    account = customer.account
    account.name = "Yamada Trading"
    account.save(update_fields=["name"])
    record_activity(customer, "web_visit", start + hour, source="web")
    record_activity(customer, "content_download", start + day, source="web")
    _walk_if_needed(walk, customer, "mql", start + 2 * day)
    handoff = Handoff.objects.get(subject=customer, status=Handoff.Status.OPEN)
    walk(customer, [("sal", start + 2 * day + hour)])
    record_activity(customer, "call", start + 3 * day, source="phone", actor_id=handoff.assigned_to_id)
    deal = qualify(
        customer, actor=handoff.assigned_to, name="Yamada rollout", amount=1_200_000, at=start + 5 * day
    )
    walk(customer, [("opportunity", start + 5 * day + hour)])
    deal.refresh_from_db()
    win_deal(deal, actor=deal.owner, at=start + 20 * day)
    walk(customer, [("onboarding", start + 20 * day + hour)])
    start_subscription(account, plan="Standard", mrr=100_000, starts_on=(start + 21 * day).date(), deal=deal)
    record_nps(customer, 9, comment="Very helpful onboarding", at=start + 30 * day)
    add_note(
        author=people.fs_rep,
        contact=customer,
        body="Kickoff went well. @csm please plan the training, @nobody can wait.",
        at=start + 31 * day,
    )

    colleague = make_contact(first_name="Taro", last_name="Suzuki", at=start + day, account=False)
    Contact.objects.filter(pk=colleague.pk).update(account=account)
    colleague.refresh_from_db()
    _walk_if_needed(walk, colleague, "mql", start + 3 * day)
    handoff2 = Handoff.objects.get(subject=colleague, status=Handoff.Status.OPEN)
    from kyogyo.handoffs.actions import reject_handoff
    from kyogyo.journey.models import ReasonCode

    reject_handoff(
        handoff2,
        actor=handoff2.assigned_to or people.manager,
        reason=ReasonCode.objects.get(kind="reject", key="no_budget"),
        note="Budget is set in April; call again then.",
        at=start + 4 * day,
    )
    add_note(
        author=people.marketer, account=account, body="Invited to the April seminar.", at=start + 35 * day
    )
    return SimpleNamespace(customer=customer, colleague=colleague, account=account, deal=deal)


def _walk_if_needed(walk, contact, stage, at):
    """A touch may have moved the person already (the stage rules run on every activity)."""
    contact.refresh_from_db()
    milestone = getattr(contact, "milestone", None)
    if milestone is None or milestone.current_stage.key != stage:
        walk(contact, [(stage, at)])


@pytest.fixture
def in_sal(people, make_contact, walk, playbook):
    """A person Inside Sales works (SAL), assigned to is_rep, no conversation yet."""
    now = timezone.now() - dt.timedelta(days=2)
    contact = make_contact(first_name="Jiro", last_name="Tanaka", at=now)
    walk(contact, [("mql", now + dt.timedelta(minutes=5))])
    Handoff.objects.filter(subject=contact, status=Handoff.Status.OPEN).update(assigned_to=people.is_rep)
    walk(contact, [("sal", now + dt.timedelta(minutes=10))])
    contact.refresh_from_db()
    return contact
