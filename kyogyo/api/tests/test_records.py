"""Companies, people, campaigns and activities over the API: the same actions as the app
(journeys start, scores and rules run), ownership rules, per-item errors in bulk, and
lists without N+1 queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kyogyo.customers.models import Contact
from kyogyo.handoffs.models import Handoff
from kyogyo.marketing.models import Activity, Campaign


def now_iso(minutes: int = 0) -> str:
    return (timezone.now() - dt.timedelta(minutes=minutes)).isoformat()


def test_creating_a_person_starts_the_journey_as_a_lead(api, people):
    client = api(people.marketer)
    account = client.post(
        "/accounts", {"name": "Acme KK", "domain": "acme.example.jp", "employee_count": 800}
    ).json()
    response = client.post(
        "/contacts", {"email": " Hana@Acme.example.jp ", "account_id": account["id"], "title": "IT Manager"}
    )
    assert response.status_code == 201
    person = response.json()
    assert person["email"] == "hana@acme.example.jp"
    assert person["stage"] == "lead" and person["fit_score"] > 0
    assert response["Location"] == f"/api/contacts/{person['id']}"
    history = client.get(f"/contacts/{person['id']}/transitions").json()["items"]
    assert [(t["from_stage"], t["to_stage"], t["via"], t["actor"]) for t in history] == [
        (None, "lead", "user", "marketer")
    ]


def test_a_contact_pointing_at_an_unknown_company_or_owner_is_404(api, people):
    client = api(people.marketer)
    assert client.post("/contacts", {"email": "a@b.jp", "account_id": 424242}).status_code == 404
    assert client.post("/contacts", {"email": "a@b.jp", "owner_id": 424242}).status_code == 404
    assert not Contact.objects.exists()


def test_filters_on_people(api, people, make_contact):
    one, two = make_contact(), make_contact()
    client = api(people.is_rep)
    assert [c["id"] for c in client.get("/contacts", {"email": one.email.upper()}).json()["items"]] == [
        one.pk
    ]
    assert [c["id"] for c in client.get("/contacts", {"account_id": two.account_id}).json()["items"]] == [
        two.pk
    ]
    assert len(client.get("/contacts", {"stage": "lead"}).json()["items"]) == 2
    assert client.get("/contacts", {"stage": "won"}).json()["items"] == []


def test_moving_a_person_follows_ownership(api, people, make_contact):
    contact = make_contact()
    # A lead is Marketing's: Inside Sales may read it but not move it.
    rep = api(people.is_rep)
    assert rep.get(f"/contacts/{contact.pk}").status_code == 200
    refused = rep.post(f"/contacts/{contact.pk}/advance", {"stage": "mql"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    moved = api(people.marketer).post(
        f"/contacts/{contact.pk}/advance", {"stage": "mql", "note": "<b>hot</b>"}
    )
    assert moved.status_code == 201
    assert moved.json()["to_stage"] == "mql" and moved.json()["note"] == "<b>hot</b>"
    assert Handoff.objects.filter(subject=contact, status="open").count() == 1
    # The journey's own refusals keep their codes.
    again = api(people.manager).post(f"/contacts/{contact.pk}/advance", {"stage": "won"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] in ("move_not_allowed", "handoff_open")


def test_classify_needs_a_reason_for_never(api, people, make_contact):
    contact = make_contact()
    client = api(people.marketer)
    missing = client.post(f"/contacts/{contact.pk}/classify", {"verdict": "never"})
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "reason_required"
    assert client.post(f"/contacts/{contact.pk}/classify", {"verdict": "maybe"}).status_code == 422
    later = client.post(f"/contacts/{contact.pk}/classify", {"verdict": "later"})
    assert later.status_code == 201 and later.json()["to_stage"] == "nurture"


def test_editing_a_person_is_for_the_owning_team(api, people, make_contact):
    contact = make_contact()
    assert api(people.fs_rep).patch(f"/contacts/{contact.pk}", {"title": "CIO"}).status_code == 403
    changed = api(people.marketer).patch(f"/contacts/{contact.pk}", {"title": "CIO"})
    assert changed.status_code == 200 and changed.json()["title"] == "CIO"
    # Their owner may too, whatever their team.
    api(people.manager).patch(f"/contacts/{contact.pk}", {"owner_id": people.fs_rep.pk})
    assert api(people.fs_rep).patch(f"/contacts/{contact.pk}", {"phone": "03-0000-0000"}).status_code == 200


def test_outsiders_see_nothing_and_unknown_and_hidden_ids_answer_alike(api, people, make_contact):
    contact = make_contact()
    outsider = api(people.outsider)
    assert outsider.get("/contacts").status_code == 403
    hidden = outsider.get(f"/contacts/{contact.pk}")
    unknown = outsider.get("/contacts/987654")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json() == {**unknown.json()}


def test_bulk_activities_keep_the_valid_ones_and_run_the_rules(api, people, make_contact):
    contact = make_contact()
    campaign = Campaign.objects.create(name="Webinar")
    good = [
        {"contact_id": contact.pk, "type": t, "occurred_at": now_iso(10 - i), "campaign_id": campaign.pk}
        for i, t in enumerate(["demo", "content_download", "form_submission", "content_download", "event"])
    ]
    bad = [
        {"contact_id": 999999, "type": "web_visit", "occurred_at": now_iso()},
        {
            "contact_id": contact.pk,
            "type": "web_visit",
            "occurred_at": (timezone.now() + dt.timedelta(days=1)).isoformat(),
        },
    ]
    dup = [
        {"contact_id": contact.pk, "type": "web_visit", "occurred_at": now_iso(), "external_id": "ext-1"}
    ] * 2
    response = api(people.marketer).post("/activities/bulk", {"items": [*good, *bad, *dup]})
    assert response.status_code == 200
    body = response.json()
    assert (body["received"], body["created"], body["duplicates"]) == (9, 6, 1)
    assert [(e["index"], e["code"]) for e in body["errors"]] == [(5, "unknown_contact"), (6, "in_future")]
    assert body["stage_changes"] == 1
    assert Activity.objects.count() == 6
    assert Contact.objects.get(pk=contact.pk).milestone.current_stage.key == "mql"
    # The same batch again: the external id is a duplicate, the rest are new touches.
    again = api(people.marketer).post("/activities/bulk", {"items": dup}).json()
    assert (again["created"], again["duplicates"]) == (0, 2)


def test_a_malformed_bulk_item_refuses_the_batch_and_names_the_item(api, people, make_contact):
    contact = make_contact()
    items = [{"contact_id": contact.pk, "type": "web_visit", "occurred_at": now_iso()}] * 3
    items = [*items, {"contact_id": contact.pk, "type": "teleport", "occurred_at": now_iso()}]
    response = api(people.marketer).post("/activities/bulk", {"items": items})
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == ["items.3.type"]
    assert not Activity.objects.exists()
    naive = {"contact_id": contact.pk, "type": "web_visit", "occurred_at": "2026-01-01T10:00:00"}
    assert api(people.marketer).post("/activities/bulk", {"items": [naive]}).status_code == 422
    assert api(people.marketer).post("/activities/bulk", {"items": []}).status_code == 422


def test_one_activity_and_its_duplicate(api, people, make_contact):
    contact = make_contact()
    client = api(people.is_rep)
    item = {"contact_id": contact.pk, "type": "call", "occurred_at": now_iso(), "external_id": "call-1"}
    first = client.post("/activities", item)
    assert first.status_code == 201 and first.json()["actor_id"] == people.is_rep.pk
    second = client.post("/activities", item)
    assert second.status_code == 200 and second.json()["id"] == first.json()["id"]
    assert client.post("/activities", {**item, "contact_id": 777777, "external_id": None}).status_code == 404
    nul = client.post("/activities", {**item, "external_id": "x", "payload": {"a": "b\u0000"}})
    assert nul.status_code == 422
    listed = client.get("/activities", {"contact_id": contact.pk, "type": "call"}).json()["items"]
    assert [a["id"] for a in listed] == [first.json()["id"]]


def test_campaigns_create_change_and_refuse_reversed_dates(api, people):
    client = api(people.marketer)
    created = client.post("/campaigns", {"name": "Expo", "starts_on": "2026-05-01", "ends_on": "2026-05-03"})
    assert created.status_code == 201
    reversed_dates = client.patch(f"/campaigns/{created.json()['id']}", {"ends_on": "2026-04-01"})
    assert reversed_dates.status_code == 422
    assert reversed_dates.json()["error"]["details"][0]["field"] == "ends_on"
    assert (
        client.patch(f"/campaigns/{created.json()['id']}", {"channel": "event"}).json()["channel"] == "event"
    )


@pytest.mark.parametrize("path", ["/accounts", "/contacts", "/activities", "/campaigns"])
def test_lists_take_a_fixed_number_of_queries(api, people, make_contact, django_assert_max_num_queries, path):
    for _ in range(12):
        contact = make_contact()
        Activity.objects.create(contact=contact, type="web_visit", occurred_at=timezone.now())
        Campaign.objects.create(name="c")
    client = api(people.marketer)
    with django_assert_max_num_queries(8):
        response = client.get(path, {"limit": 10})
    assert len(response.json()["items"]) == 10
