"""The list of handoffs over HTTP: filters (overdue too), the countdown and the queue's
forms on open rows, accepting and assigning many at once through the handoff actions
(refusals per row), the export, and a bounded number of queries."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from kyogyo.handoffs.actions import HandoffError, assign_handoff
from kyogyo.handoffs.models import Handoff


@pytest.fixture
def waiting(people, make_contact, walk):
    """Three open handoffs to Inside Sales (the first overdue), one already accepted."""
    now = timezone.now()
    handoffs = []
    for n in range(4):
        contact = make_contact(first_name="Hanako", last_name=f"Yamada{n}", at=now)
        walk(contact, [("mql", now)])
        handoffs.append(Handoff.objects.get(subject=contact, status=Handoff.Status.OPEN))
    Handoff.objects.filter(pk=handoffs[0].pk).update(due_at=now - dt.timedelta(days=7))
    walk(handoffs[3].subject, [("sal", now)])
    return handoffs


def listed(client, user, **params) -> list[int]:
    client.force_login(user)
    response = client.get("/handoffs/", params)
    assert response.status_code == 200
    return [row.handoff.pk for row in response.context["page"].items]


def test_filters(client, people, waiting):
    ids = [h.pk for h in waiting]
    assert set(listed(client, people.csm)) == set(ids)
    assert listed(client, people.csm, status="overdue") == [ids[0]]
    assert set(listed(client, people.csm, status="open")) == set(ids[:3])
    assert listed(client, people.csm, status="accepted") == [ids[3]]
    assert set(listed(client, people.csm, team="inside_sales", stage="mql")) == set(ids)
    assert listed(client, people.csm, team="field_sales") == []
    assert listed(client, people.csm, sort="newest")[0] == ids[3]
    assert listed(client, people.csm, sort="due")[0] == ids[0]


def test_the_rows_show_the_countdown_and_the_forms_to_whoever_may_act(client, people, waiting):
    client.force_login(people.is_rep)
    text = client.get("/handoffs/", {"status": "overdue"}).content.decode()
    assert "business h overdue" in text
    assert f'action="/handoffs/{waiting[0].pk}/accept"' in text
    client.force_login(people.csm)  # reads the list, may not act on Inside Sales' handoffs
    assert "/accept" not in client.get("/handoffs/").content.decode()


def test_accepting_from_the_list_comes_back_to_it(client, people, waiting):
    client.force_login(people.is_rep)
    response = client.post(f"/handoffs/{waiting[1].pk}/accept", {"next": "/handoffs/?status=open"})
    assert response.status_code == 302 and response["Location"] == "/handoffs/?status=open"


def test_bad_parameters_are_said(client, people, waiting):
    client.force_login(people.is_rep)
    response = client.get("/handoffs/", {"status": "late", "owner": "-1"})
    assert len(response.context["state"].problems) == 2
    assert len(response.context["page"].items) == 4


def test_accepting_many_reports_each_refusal(client, people, waiting):
    client.force_login(people.is_rep)
    fields = {"action": "accept", "ids": [str(h.pk) for h in waiting]}
    text = client.post("/handoffs/bulk/", fields).content.decode()
    assert "You selected 4 rows." in text and "You may change 3 of them." in text
    text = client.post("/handoffs/bulk/", {**fields, "confirmed": "1"}).content.decode()
    assert "Done for 3 rows." in text and "1 row was refused:" in text
    assert "Someone already acted on this handoff" in text
    assert not Handoff.objects.filter(status=Handoff.Status.OPEN).exists()


def test_another_team_cannot_accept_them(client, people, waiting):
    client.force_login(people.fs_rep)
    fields = {"action": "accept", "ids": [str(waiting[1].pk)], "confirmed": "1"}
    text = client.post("/handoffs/bulk/", fields).content.decode()
    assert "Only the receiving team or a manager can act on this handoff." in text
    assert Handoff.objects.get(pk=waiting[1].pk).is_open


def test_assigning_many(client, people, waiting):
    client.force_login(people.manager)
    fields = {"action": "assign", "assignee": str(people.is_rep2.pk), "ids": [str(h.pk) for h in waiting[:3]]}
    assert (
        'Assign to: <strong translate="no">is_rep2</strong>'
        in client.post("/handoffs/bulk/", fields).content.decode()
    )
    text = client.post("/handoffs/bulk/", {**fields, "confirmed": "1"}).content.decode()
    assert "Done for 3 rows." in text
    assert set(Handoff.objects.filter(assigned_to=people.is_rep2).values_list("pk", flat=True)) == {
        h.pk for h in waiting[:3]
    }
    fields = {
        "action": "assign",
        "assignee": str(people.fs_rep.pk),
        "ids": [str(waiting[0].pk)],
        "confirmed": "1",
    }
    text = client.post("/handoffs/bulk/", fields).content.decode()
    assert "1 row was refused:" in text  # fs_rep is not in the receiving team


def test_assign_handoff_checks_the_team_and_the_actor(people, waiting):
    with pytest.raises(HandoffError) as refused:
        assign_handoff(waiting[0], people.fs_rep, actor=people.manager)
    assert refused.value.code == "bad_assignee"
    with pytest.raises(HandoffError) as refused:
        assign_handoff(waiting[0], people.is_rep, actor=people.fs_rep)
    assert refused.value.code == "not_receiving_team"
    assert assign_handoff(waiting[0], None, actor=people.is_rep).assigned_to is None


@pytest.mark.parametrize("extra", [0, 5])
def test_a_bounded_number_of_queries(
    client, people, waiting, make_contact, walk, django_assert_max_num_queries, extra
):
    for _ in range(extra):
        contact = make_contact(at=timezone.now())
        walk(contact, [("mql", timezone.now())])
    client.force_login(people.is_rep)
    with django_assert_max_num_queries(14):
        response = client.get("/handoffs/", {"status": "open"})
    assert len(response.context["page"].items) == 3 + extra


def test_the_export_is_the_filtered_list(client, people, waiting):
    client.force_login(people.is_rep)
    response = client.get("/handoffs/export/", {"status": "open", "format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert len(rows) == 4 and rows[0][0] == "id"
