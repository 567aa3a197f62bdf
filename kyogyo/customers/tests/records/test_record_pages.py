"""The person's and company's pages over HTTP: who reads them (404 for the outsider as for an
unknown id), the page's actions through the journey, playbook, notes and handoff actions,
refusals in the reader's words, bounded queries, and the reader's mentions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone, translation

from kyogyo.customers.models import Note
from kyogyo.customers.notes import add_note, mentions_for
from kyogyo.handoffs.models import Handoff
from kyogyo.journey.models import ChecklistTick, Milestone, PlaybookItem
from kyogyo.marketing.actions import record_activity


def contact_url(contact) -> str:
    return reverse("customers:contact", args=[contact.pk])


def stage_of(contact) -> str:
    return Milestone.objects.get(subject=contact).current_stage.key


def test_every_member_reads_both_pages(client, people, story):
    for role in ("marketer", "is_rep", "fs_rep", "csm", "manager", "admin"):
        client.force_login(getattr(people, role))
        page = client.get(contact_url(story.customer))
        assert page.status_code == 200
        assert "Kickoff went well." in page.content.decode()
        company = client.get(reverse("customers:account", args=[story.account.pk]))
        assert company.status_code == 200
        assert "Invited to the April seminar." in company.content.decode()


def test_unknown_and_forbidden_look_alike(client, people, story):
    client.force_login(people.outsider)
    assert client.get(contact_url(story.customer)).status_code == 404
    assert client.get(reverse("customers:account", args=[story.account.pk])).status_code == 404
    client.force_login(people.is_rep)
    assert client.get(reverse("customers:contact", args=[999_999])).status_code == 404
    assert client.get(reverse("customers:account", args=[999_999])).status_code == 404
    client.logout()
    assert client.get(contact_url(story.customer)).status_code == 302


def test_the_why_shows_the_rule_and_version(client, people, make_contact, playbook):
    student = make_contact(title="Student", at=timezone.now())
    client.force_login(people.marketer)
    html = client.get(contact_url(student)).content.decode()
    assert "dq-student v1" in html
    assert "Students" in html


def test_older_pages_of_the_timeline(client, people, story):
    client.force_login(people.csm)
    first = client.get(contact_url(story.customer))
    older = first.context["timeline"].older
    assert older is None  # a story fits one page …
    start = timezone.now() - dt.timedelta(days=60)
    for n in range(40):
        record_activity(story.customer, "web_visit", start + dt.timedelta(hours=n))
    first = client.get(contact_url(story.customer))
    older = first.context["timeline"].older
    assert older and f"?before={older}" in first.content.decode()
    second = client.get(contact_url(story.customer), {"before": older})
    assert second.status_code == 200
    firsts = {(e.kind, e.id) for e in first.context["timeline"].events}
    seconds = {(e.kind, e.id) for e in second.context["timeline"].events}
    assert seconds and not firsts & seconds
    assert client.get(contact_url(story.customer), {"before": "junk"}).status_code == 200


@pytest.mark.parametrize("extra_touches", [0, 30])
def test_the_pages_run_a_bounded_number_of_queries(
    client, people, story, extra_touches, django_assert_max_num_queries
):
    start = timezone.now() - dt.timedelta(days=50)
    for n in range(extra_touches):
        record_activity(story.customer, "content_download", start + dt.timedelta(hours=n))
        add_note(author=people.csm, contact=story.customer, body=f"@fs_rep touch {n}", at=start)
    client.force_login(people.csm)
    # 32: for a CSM, one query asks whether this customer in onboarding still waits for a
    # subscription (the start form's panel), one reads the fields admins marked restricted
    with django_assert_max_num_queries(32):
        assert client.get(contact_url(story.customer)).status_code == 200
    with django_assert_max_num_queries(21):  # 20, and the fields admins marked restricted
        assert client.get(reverse("customers:account", args=[story.account.pk])).status_code == 200


def test_the_team_working_the_person_moves_them(client, people, in_sal):
    client.force_login(people.is_rep)
    response = client.post(
        reverse("customers:contact_move", args=[in_sal.pk]), {"to": "nurture", "note": "later"}
    )
    assert response.status_code == 302 and response["Location"].endswith("#stage")
    assert stage_of(in_sal) == "nurture"
    assert "Moved to Nurture." in client.get(contact_url(in_sal)).content.decode()


def test_another_team_is_denied_a_stage_change(client, people, in_sal):
    client.force_login(people.fs_rep)
    page = client.get(contact_url(in_sal)).content.decode()
    assert 'class="move-form"' not in page
    assert "Only the team working this person, their owner or a manager moves them on." in page
    response = client.post(reverse("customers:contact_move", args=[in_sal.pk]), {"to": "nurture"})
    assert response.status_code == 403
    assert stage_of(in_sal) == "sal"
    item = PlaybookItem.objects.filter(stage="sal", kind="exit").first()
    response = client.post(reverse("customers:contact_check", args=[in_sal.pk, item.pk]), {"done": "1"})
    assert response.status_code == 403
    assert not ChecklistTick.objects.exists()


@pytest.mark.parametrize(
    ("language", "said"),
    [("en", "Moving to that stage needs a reason."), ("ja", "そのステージへの移動には理由が必要です。")],
)
def test_a_refused_move_says_why_in_the_readers_language(client, people, in_sal, language, said):
    people.is_rep.language = language
    people.is_rep.save()
    client.force_login(people.is_rep)
    response = client.post(
        reverse("customers:contact_move", args=[in_sal.pk]), {"to": "disqualified"}, follow=True
    )
    assert said in response.content.decode()
    assert stage_of(in_sal) == "sal"


def test_a_move_with_a_reason_then_one_the_journey_refuses(client, people, in_sal):
    client.force_login(people.is_rep)
    url = reverse("customers:contact_move", args=[in_sal.pk])
    client.post(url, {"to": "disqualified", "reason": "student"})
    assert stage_of(in_sal) == "disqualified"
    assert client.post(url, {"to": "nurture"}).status_code == 403  # nobody's stage now: managers move
    client.force_login(people.manager)
    response = client.post(url, {"to": "sql"}, follow=True)
    assert "The journey does not allow this move." in response.content.decode()


def test_classifying_a_lead(client, people, make_contact, playbook):
    lead = make_contact(at=timezone.now() - dt.timedelta(hours=2))
    client.force_login(people.marketer)
    page = client.get(contact_url(lead)).content.decode()
    assert 'name="verdict" value="now"' in page
    url = reverse("customers:contact_move", args=[lead.pk])
    response = client.post(url, {"verdict": "never"}, follow=True)
    assert "Moving to that stage needs a reason." in response.content.decode()
    client.post(url, {"verdict": "now"})
    assert stage_of(lead) == "mql"
    assert Handoff.objects.filter(subject=lead, status="open").exists()


def test_ticking_the_exit_checklist(client, people, in_sal):
    client.force_login(people.is_rep)
    item = PlaybookItem.objects.filter(stage="sal", kind="exit").order_by("order").first()
    url = reverse("customers:contact_check", args=[in_sal.pk, item.pk])
    assert client.post(url, {"done": "1"})["Location"].endswith("#checklist")
    assert ChecklistTick.objects.get(contact=in_sal).item == item
    page = client.get(contact_url(in_sal))
    assert page.context["playbook"].checks_done == 1
    client.post(url, {"done": "0"})
    assert not ChecklistTick.objects.exists()
    question = PlaybookItem.objects.filter(stage="sal", kind="question").first()
    follow = client.post(
        reverse("customers:contact_check", args=[in_sal.pk, question.pk]), {"done": "1"}, follow=True
    )
    assert "Only the items of an exit checklist are ticked." in follow.content.decode()
    assert client.post(reverse("customers:contact_check", args=[in_sal.pk, 999_999])).status_code == 404


def test_adding_notes(client, people, in_sal):
    client.force_login(people.is_rep)
    url = reverse("customers:contact_note", args=[in_sal.pk])
    empty = client.post(url, {"body": "  "})
    assert empty.status_code == 400
    assert "Write something in the note." in empty.content.decode()
    long = client.post(url, {"body": "x" * 4001})
    assert long.status_code == 400 and "The note is too long." in long.content.decode()
    assert "x" * 4001 in long.content.decode()  # what was typed is kept
    response = client.post(url, {"body": "@fs_rep can you join the call?"})
    assert response.status_code == 302
    note = Note.objects.get(contact=in_sal)
    assert list(note.mentions.all()) == [people.fs_rep] and note.author == people.is_rep
    company = in_sal.account
    client.post(reverse("customers:account_note", args=[company.pk]), {"body": "Met at the expo."})
    assert Note.objects.filter(account=company, body="Met at the expo.").exists()
    client.force_login(people.outsider)
    assert client.post(url, {"body": "hi"}).status_code == 404


def test_the_handoff_is_acted_on_from_the_page(client, people, make_contact, walk, playbook):
    contact = make_contact(at=timezone.now() - dt.timedelta(hours=3))
    walk(contact, [("mql", timezone.now() - dt.timedelta(hours=2))])
    handoff = Handoff.objects.get(subject=contact, status="open")
    Handoff.objects.filter(pk=handoff.pk).update(assigned_to=people.is_rep)
    client.force_login(people.is_rep)
    page = client.get(contact_url(contact)).content.decode()
    assert reverse("handoffs:accept", args=[handoff.pk]) in page
    response = client.post(
        reverse("handoffs:reject", args=[handoff.pk]),
        {"reason": "no_budget", "note": "April budget", "next": contact_url(contact)},
    )
    assert response["Location"] == contact_url(contact)
    html = client.get(contact_url(contact)).content.decode()
    assert "April budget" in html and "No budget" in html
    client.force_login(people.fs_rep)
    contact2 = make_contact(at=timezone.now() - dt.timedelta(hours=3))
    walk(contact2, [("mql", timezone.now() - dt.timedelta(hours=2))])
    page = client.get(contact_url(contact2)).content.decode()
    assert "Only the receiving team or a manager can act on this handoff." in page


def test_my_mentions_template(people, story):
    request = RequestFactory().get("/")
    request.user = people.csm
    mentions = mentions_for(people.csm, limit=5)
    html = render_to_string("customers/_my_mentions.html", {"mentions": mentions}, request=request)
    assert contact_url(story.customer) + "#timeline" in html
    assert "Kickoff went well." in html
    with translation.override("ja"):
        empty = render_to_string("customers/_my_mentions.html", {"mentions": []}, request=request)
    assert "まだメモでメンションされていません。" in empty
