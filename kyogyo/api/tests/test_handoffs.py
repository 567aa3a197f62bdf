"""/api/handoffs through HTTP: the queue with each handoff's SLA and breach, its filters, and
accepting or rejecting through the actions (the receiving team or a manager only)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kyogyo.handoffs.models import Handoff
from kyogyo.journey.actions import advance
from kyogyo.journey.models import Milestone
from kyogyo.testing import T0, TOKYO

HOUR = dt.timedelta(hours=1)


def stage_of(contact_id: int) -> str:
    return Milestone.objects.select_related("current_stage").get(subject_id=contact_id).current_stage.key


def when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.fixture
def late(make_contact):
    """An MQL handed to Inside Sales at T0 + 1 h (Monday 11:00): due 8 business hours later,
    Tuesday 10:00 (7 h on Monday until 18:00, 1 h from 9:00 on Tuesday) — long past now."""
    contact = make_contact(at=T0)
    advance(contact, "mql", via="system", at=T0 + HOUR)
    return Handoff.objects.get(subject=contact)


@pytest.fixture
def fresh(make_contact):
    """An MQL handed on just now: due in 8 business hours, so not overdue."""
    contact = make_contact(at=T0)
    advance(contact, "mql", via="system", at=timezone.now())
    return Handoff.objects.get(subject=contact)


def test_the_sla_due_time_and_breach_are_shown(api, people, late, fresh):
    answer = api(people.marketer).get(f"/handoffs/{late.pk}")
    assert answer.status_code == 200 and answer["ETag"]
    body = answer.json()
    assert when(body["due_at"]) == dt.datetime(2026, 4, 7, 10, 0, tzinfo=TOKYO)
    assert when(body["created_at"]) == T0 + HOUR
    assert (body["status"], body["overdue"], body["breached"], body["breached_at"]) == (
        "open",
        True,
        True,
        None,
    )
    assert (body["stage"], body["from_team"], body["to_team"]) == ("mql", "marketing", "inside_sales")
    assert body["contact_id"] == late.subject_id and body["assigned_to_id"] == late.assigned_to_id
    other = api(people.marketer).get(f"/handoffs/{fresh.pk}").json()
    assert (other["overdue"], other["breached"]) == (False, False)


def test_filters(api, people, late, fresh):
    client = api(late.assigned_to)

    def ids(**params) -> list[int]:
        answer = client.get("/handoffs", params)
        assert answer.status_code == 200, answer.json()
        return [h["id"] for h in answer.json()["items"]]

    assert ids() == sorted([late.pk, fresh.pk])
    assert ids(overdue="true") == [late.pk]
    assert ids(overdue="false") == [fresh.pk]
    assert ids(to_team="inside_sales", from_team="marketing", status="open") == sorted([late.pk, fresh.pk])
    assert ids(to_team="field_sales") == []
    assert ids(status="accepted") == []
    assert ids(assigned_to_id=fresh.assigned_to_id) == [fresh.pk]
    mine = ids(mine="true")
    assert late.pk in mine and all(Handoff.objects.get(pk=i).assigned_to == late.assigned_to for i in mine)
    assert client.get("/handoffs", {"status": "late"}).status_code == 422
    assert client.get("/handoffs", {"overdue": "maybe"}).status_code == 422


def test_pages_and_queries(api, people, make_contact, django_assert_max_num_queries):
    for _ in range(3):
        advance(make_contact(at=T0), "mql", via="system", at=T0 + HOUR)
    client = api(people.csm)
    client.get("/me")
    # the token, the rate counter (and the savepoint pair around it in a test), the page
    with django_assert_max_num_queries(5):
        page1 = client.get("/handoffs", {"limit": 2}).json()
    page2 = client.get("/handoffs", {"limit": 2, "cursor": page1["next_cursor"]}).json()
    assert len(page1["items"]) == 2 and len(page2["items"]) == 1 and page2["next_cursor"] is None


def test_unknown_and_unreadable_answer_alike(api, people, late):
    unknown = api(people.marketer).get("/handoffs/999999")
    hidden = api(people.outsider).get(f"/handoffs/{late.pk}")
    assert unknown.status_code == hidden.status_code == 404
    assert unknown.json() == hidden.json()
    assert api(people.outsider).get("/handoffs").status_code == 403
    assert api(people.outsider).post(f"/handoffs/{late.pk}/accept").status_code == 404


def test_accept_late_records_the_breach(api, people, late):
    receiver = api(late.assigned_to)
    accepted = receiver.post(f"/handoffs/{late.pk}/accept", {"note": "calling today"})
    assert accepted.status_code == 200
    body = accepted.json()
    assert (body["status"], body["acted_by"], body["note"]) == (
        "accepted",
        late.assigned_to.username,
        "calling today",
    )
    # acted on after the due time: the breach is recorded at the due time
    assert body["breached"] is True and when(body["breached_at"]) == when(body["due_at"])
    assert body["overdue"] is False
    assert stage_of(late.subject_id) == "sal"
    again = receiver.post(f"/handoffs/{late.pk}/accept")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_acted"
    assert receiver.post(f"/handoffs/{late.pk}/reject", {"reason": "no_budget"}).status_code == 409


def test_accept_without_a_body(api, late):
    answer = api(late.assigned_to).client.post(
        f"/api/handoffs/{late.pk}/accept", data="", content_type="application/json"
    )
    assert answer.status_code == 200 and answer.json()["status"] == "accepted"


def test_only_the_receiving_team_or_a_manager_acts(api, people, late, fresh):
    for user in (people.marketer, people.fs_rep, people.csm):
        refused = api(user).post(f"/handoffs/{late.pk}/accept")
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert Handoff.objects.get(pk=late.pk).status == "open"
    assert api(people.is_rep2).post(f"/handoffs/{fresh.pk}/accept").status_code == 200  # same team
    assert api(people.manager).post(f"/handoffs/{late.pk}/accept").status_code == 200


def test_reject_with_a_reason(api, people, late):
    receiver = api(late.assigned_to)
    assert receiver.post(f"/handoffs/{late.pk}/reject", {}).status_code == 422
    unknown = receiver.post(f"/handoffs/{late.pk}/reject", {"reason": "competitor"})  # a disqualify reason
    assert unknown.status_code == 404 and unknown.json()["error"]["details"][0]["field"] == "reason"
    too_long = receiver.post(f"/handoffs/{late.pk}/reject", {"reason": "no_budget", "note": "x" * 2001})
    assert too_long.status_code == 422 and too_long.json()["error"]["details"][0]["field"] == "note"
    rejected = receiver.post(f"/handoffs/{late.pk}/reject", {"reason": "no_budget", "note": "next year"})
    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["reason"]) == ("rejected", "no_budget")
    assert stage_of(late.subject_id) == "nurture"  # where "no_budget" sends the person
