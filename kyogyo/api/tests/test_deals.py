"""/api/deals and /api/pipeline-stages through HTTP: qualifying a person opens a deal, owned by
the Field Sales rep the handoff was routed to; edits with If-Match or the version; move, win
and lose through the actions; every refusal."""

from __future__ import annotations

import datetime as dt

import pytest

from kyogyo.deals.models import Deal
from kyogyo.handoffs.models import Handoff
from kyogyo.journey.models import Milestone
from kyogyo.testing import T0

HOUR = dt.timedelta(hours=1)


def stage_of(contact_id: int) -> str:
    return Milestone.objects.select_related("current_stage").get(subject_id=contact_id).current_stage.key


@pytest.fixture
def in_sal(make_contact, walk):
    """``in_sal()``: a person Inside Sales has accepted (SAL), ready to be qualified."""

    def make():
        return walk(make_contact(at=T0), [("mql", T0 + HOUR), ("sal", T0 + 2 * HOUR)])

    return make


@pytest.fixture
def qualified(api, people, in_sal):
    """``qualified()``: the JSON of a deal just opened by qualifying a person in SAL."""

    def make(amount: int = 1_200_000) -> dict:
        contact = in_sal()
        answer = api(people.is_rep).post(
            "/deals", {"contact_id": contact.pk, "name": "Pilot", "amount": amount}
        )
        assert answer.status_code == 201, answer.json()
        return answer.json()

    return make


@pytest.fixture
def opportunity(api, people, qualified):
    """A deal whose person Field Sales accepted (opportunity): it can be won or lost."""
    deal = qualified()
    handoff = Handoff.objects.get(subject_id=deal["contact_id"], status=Handoff.Status.OPEN)
    assert api(handoff.assigned_to).post(f"/handoffs/{handoff.pk}/accept").status_code == 200
    return api(people.fs_rep).get(f"/deals/{deal['id']}").json()


def owner_client(api, deal: dict):
    from kyogyo.org.models import User

    return api(User.objects.get(pk=deal["owner_id"]))


# --- create -------------------------------------------------------------------------------


def test_qualifying_opens_a_deal_owned_by_the_routed_field_sales_rep(api, people, in_sal):
    contact = in_sal()
    answer = api(people.is_rep).post(
        "/deals",
        {"contact_id": contact.pk, "name": "Pilot", "amount": 1_200_000, "expected_close": "2027-03-31"},
    )
    assert answer.status_code == 201
    deal = answer.json()
    assert answer["Location"] == f"/api/deals/{deal['id']}" and answer["ETag"]
    handoff = Handoff.objects.get(subject=contact, status=Handoff.Status.OPEN)
    assert deal["owner_id"] == handoff.assigned_to_id and handoff.to_team.key == "field_sales"
    assert deal["owner"] in ("fs_rep", "fs_rep2")
    assert (deal["status"], deal["pipeline_stage"], deal["version"]) == ("open", "discovery", 1)
    assert (deal["amount"], deal["currency"], deal["account_id"]) == (1_200_000, "JPY", contact.account_id)
    # the default discovery probability is 10 %: 1,200,000 × 10 % = 120,000
    assert (deal["effective_probability"], deal["weighted_amount"]) == (10, 120_000.0)
    assert stage_of(contact.pk) == "sql"


def test_qualifying_again_after_a_send_back_updates_the_open_deal(api, people, qualified):
    deal = qualified()
    handoff = Handoff.objects.get(subject_id=deal["contact_id"], status=Handoff.Status.OPEN)
    rejected = api(handoff.assigned_to).post(f"/handoffs/{handoff.pk}/reject", {"reason": "incomplete_info"})
    assert rejected.status_code == 200 and stage_of(deal["contact_id"]) == "sal"
    again = api(people.is_rep).post(
        "/deals", {"contact_id": deal["contact_id"], "name": "Pilot 2", "amount": 5}
    )
    assert again.status_code == 200
    assert (again.json()["id"], again.json()["name"], again.json()["version"]) == (deal["id"], "Pilot 2", 2)
    assert Deal.objects.count() == 1


def test_create_refusals(api, people, in_sal, make_contact):
    contact = in_sal()
    rep = api(people.is_rep)
    not_json = rep.client.post("/api/deals", data="{contact_id: 1", content_type="application/json")
    assert not_json.status_code == 422 and not_json.json()["error"]["details"][0]["field"] == "body"
    bad = rep.post("/deals", {"contact_id": contact.pk, "name": "", "amount": -1, "currency": "yen"})
    assert bad.status_code == 422
    assert {d["field"] for d in bad.json()["error"]["details"]} == {"name", "amount", "currency"}
    missing = rep.post("/deals", {"contact_id": 999_999, "name": "X", "amount": 1})
    assert missing.status_code == 404 and missing.json()["error"]["details"][0]["field"] == "contact_id"
    no_campaign = rep.post("/deals", {"contact_id": contact.pk, "name": "X", "amount": 1, "campaign_id": 999})
    assert no_campaign.status_code == 404
    # Field Sales does not own a person in SAL
    assert (
        api(people.fs_rep).post("/deals", {"contact_id": contact.pk, "name": "X", "amount": 1}).status_code
        == 403
    )
    assert (
        api(people.outsider).post("/deals", {"contact_id": contact.pk, "name": "X", "amount": 1}).status_code
        == 403
    )
    # a lead cannot become SQL: the stage model refuses (409), nothing written
    lead = make_contact(at=T0)
    conflict = api(people.marketer).post("/deals", {"contact_id": lead.pk, "name": "X", "amount": 1})
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "move_not_allowed"
    # a person without a company cannot have a deal
    loner = make_contact(at=T0, account=False)
    assert (
        api(people.marketer).post("/deals", {"contact_id": loner.pk, "name": "X", "amount": 1}).status_code
        == 409
    )
    assert Deal.objects.count() == 0


# --- read ---------------------------------------------------------------------------------


def test_get_and_list_with_filters(api, people, qualified):
    first, second = qualified(1_000), qualified(2_000)
    client = api(people.marketer)
    one = client.get(f"/deals/{first['id']}")
    assert one.status_code == 200 and one.json() == first and one["ETag"]
    everything = client.get("/deals").json()
    assert [d["id"] for d in everything["items"]] == [first["id"], second["id"]]
    assert everything["next_cursor"] is None
    by_contact = client.get("/deals", {"contact_id": second["contact_id"]}).json()["items"]
    assert [d["amount"] for d in by_contact] == [2_000]
    assert [d["id"] for d in client.get("/deals", {"account_id": first["account_id"]}).json()["items"]] == [
        first["id"]
    ]
    assert len(client.get("/deals", {"status": "open", "pipeline_stage": "discovery"}).json()["items"]) == 2
    assert client.get("/deals", {"status": "won"}).json()["items"] == []
    assert client.get("/deals", {"pipeline_stage": "proposal"}).json()["items"] == []
    owned = client.get("/deals", {"owner_id": first["owner_id"]}).json()["items"]
    assert first["id"] in [d["id"] for d in owned]
    assert client.get("/deals", {"status": "pending"}).status_code == 422


def test_pages(api, people, qualified):
    ids = [qualified()["id"] for _ in range(3)]
    client = api(people.csm)
    page1 = client.get("/deals", {"limit": 2}).json()
    assert [d["id"] for d in page1["items"]] == ids[:2] and page1["next_cursor"]
    page2 = client.get("/deals", {"limit": 2, "cursor": page1["next_cursor"]}).json()
    assert [d["id"] for d in page2["items"]] == ids[2:] and page2["next_cursor"] is None


def test_unknown_and_unreadable_answer_alike(api, people, qualified):
    deal = qualified()
    unknown = api(people.marketer).get("/deals/999999")
    hidden = api(people.outsider).get(f"/deals/{deal['id']}")
    assert unknown.status_code == hidden.status_code == 404
    assert (
        unknown.json()
        == hidden.json()
        == {"error": {"code": "not_found", "message": "no such deal", "details": []}}
    )
    assert api(people.outsider).get("/deals").status_code == 403
    assert api(people.outsider).post(f"/deals/{deal['id']}/win").status_code == 404
    assert api(people.marketer).get("/deals/0").status_code == 422


def test_list_queries_do_not_grow_with_the_deals(api, people, qualified, django_assert_max_num_queries):
    for _ in range(4):
        qualified()
    client = api(people.fs_rep)
    client.get("/me")  # the token's first use is recorded once
    # the token, the rate counter (and the savepoint pair around it in a test), the
    # restricted fields, the page
    with django_assert_max_num_queries(6):
        answer = client.get("/deals")
    assert len(answer.json()["items"]) == 4


def test_pipeline_stages(api, people):
    answer = api(people.is_rep).get("/pipeline-stages")
    assert answer.status_code == 200
    items = answer.json()["items"]
    assert [s["key"] for s in items][:1] == ["discovery"]
    assert [s["key"] for s in items if s["is_won"]] == ["closed_won"]
    assert answer.json()["next_cursor"] is None
    assert api(people.outsider).get("/pipeline-stages").status_code == 403


# --- change -------------------------------------------------------------------------------


def test_patch_with_if_match(api, qualified):
    deal = qualified()
    owner = owner_client(api, deal)
    etag = owner.get(f"/deals/{deal['id']}")["ETag"]
    changed = owner.patch(
        f"/deals/{deal['id']}", {"amount": 2_000_000, "probability": 40}, **{"If-Match": etag}
    )
    assert changed.status_code == 200
    body = changed.json()
    # 2,000,000 × 40 % = 800,000
    assert (body["amount"], body["probability"], body["weighted_amount"], body["version"]) == (
        2_000_000,
        40,
        800_000.0,
        2,
    )
    assert changed["ETag"] != etag
    stale = owner.patch(f"/deals/{deal['id']}", {"amount": 1}, **{"If-Match": etag})
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "precondition_failed"
    assert stale["ETag"] == changed["ETag"]
    assert Deal.objects.get(pk=deal["id"]).amount == 2_000_000


def test_patch_with_a_stale_version_is_412(api, qualified):
    deal = qualified()
    owner = owner_client(api, deal)
    nothing = owner.patch(f"/deals/{deal['id']}", {})
    assert nothing.status_code == 200 and nothing.json()["version"] == 1  # no change, no new version
    assert owner.patch(f"/deals/{deal['id']}", {"version": 2}).status_code == 412
    assert owner.patch(f"/deals/{deal['id']}", {"name": "Renamed", "version": 1}).status_code == 200
    stale = owner.patch(f"/deals/{deal['id']}", {"name": "Again", "version": 1})
    assert stale.status_code == 412 and "version 2" in stale.json()["error"]["message"]
    assert Deal.objects.get(pk=deal["id"]).name == "Renamed"


def test_patch_owner_campaign_and_refusals(api, people, qualified):
    from kyogyo.marketing.actions import create_campaign

    deal = qualified()
    owner = owner_client(api, deal)
    campaign = create_campaign(name="Expo")
    moved = owner.patch(f"/deals/{deal['id']}", {"owner_id": people.fs_rep2.pk, "campaign_id": campaign.pk})
    assert (moved.json()["owner"], moved.json()["campaign_id"]) == ("fs_rep2", campaign.pk)
    bad = owner.patch(f"/deals/{deal['id']}", {"amount": None, "probability": 101, "name": "x\x00"})
    assert bad.status_code == 422
    assert {d["field"] for d in bad.json()["error"]["details"]} == {"amount", "probability", "name"}
    assert owner.patch(f"/deals/{deal['id']}", {"owner_id": 999_999}).status_code == 404
    # not the owner's team
    for user in (people.is_rep, people.marketer, people.csm):
        refused = api(user).patch(f"/deals/{deal['id']}", {"amount": 1})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert api(people.manager).patch(f"/deals/{deal['id']}", {"amount": 7}).json()["amount"] == 7


def test_move_along_the_pipeline(api, qualified):
    deal = qualified()
    owner = owner_client(api, deal)
    moved = owner.post(f"/deals/{deal['id']}/move", {"stage": "proposal"})
    assert moved.status_code == 200 and moved.json()["pipeline_stage"] == "proposal"
    assert moved.json()["effective_probability"] == 50
    unknown = owner.post(f"/deals/{deal['id']}/move", {"stage": "nowhere"})
    assert unknown.status_code == 404 and unknown.json()["error"]["details"][0]["field"] == "stage"
    closed = owner.post(f"/deals/{deal['id']}/move", {"stage": "closed_won"})
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "use_win_or_lose"
    etag = owner.get(f"/deals/{deal['id']}")["ETag"]
    owner.post(f"/deals/{deal['id']}/move", {"stage": "negotiation"})
    assert (
        owner.post(f"/deals/{deal['id']}/move", {"stage": "proposal"}, **{"If-Match": etag}).status_code
        == 412
    )
    assert owner.post(f"/deals/{deal['id']}/move", {"stage": "proposal", "version": 1}).status_code == 412


def test_win_hands_the_customer_to_customer_success(api, people, opportunity):
    owner = owner_client(api, opportunity)
    # the body may be left out
    won = owner.client.post(f"/api/deals/{opportunity['id']}/win", data="", content_type="application/json")
    assert won.status_code == 200
    assert (won.json()["status"], won.json()["pipeline_stage"]) == ("won", "closed_won")
    assert won.json()["closed_at"] is not None
    assert stage_of(opportunity["contact_id"]) == "won"
    handoff = Handoff.objects.get(subject_id=opportunity["contact_id"], status=Handoff.Status.OPEN)
    assert handoff.to_team.key == "customer_success"
    again = owner.post(f"/deals/{opportunity['id']}/win")
    assert again.status_code == 409 and again.json()["error"]["code"] == "closed"
    assert owner.post(f"/deals/{opportunity['id']}/lose", {"reason": "price"}).status_code == 409


def test_winning_before_field_sales_accepted_is_a_conflict(api, qualified):
    deal = qualified()
    refused = owner_client(api, deal).post(f"/deals/{deal['id']}/win")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "handoff_open"
    assert Deal.objects.get(pk=deal["id"]).status == "open"


def test_lose_with_a_reason(api, people, opportunity):
    owner = owner_client(api, opportunity)
    unknown = owner.post(f"/deals/{opportunity['id']}/lose", {"reason": "not_a_fit"})  # a reject reason
    assert unknown.status_code == 404 and unknown.json()["error"]["details"][0]["field"] == "reason"
    assert owner.post(f"/deals/{opportunity['id']}/lose", {}).status_code == 422
    assert api(people.is_rep).post(f"/deals/{opportunity['id']}/lose", {"reason": "price"}).status_code == 403
    lost = owner.post(f"/deals/{opportunity['id']}/lose", {"reason": "price", "note": "too dear"})
    assert lost.status_code == 200
    assert (lost.json()["status"], lost.json()["loss_reason"], lost.json()["pipeline_stage"]) == (
        "lost",
        "price",
        "closed_lost",
    )
    assert stage_of(opportunity["contact_id"]) == "nurture"  # where "price" sends the person


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_edits_with_the_same_etag_at_once_one_wins(api, qualified):
    """The If-Match check runs under the deal's row lock: of two edits sent with the ETag both
    read, one is applied and the other is told the deal changed (412), never both."""
    import threading

    from django.db import connection

    deal = qualified()
    clients = [owner_client(api, deal), owner_client(api, deal)]
    etag = clients[0].get(f"/deals/{deal['id']}")["ETag"]
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def edit(client, amount: int) -> None:
        try:
            barrier.wait(timeout=30)
            statuses.append(
                client.patch(f"/deals/{deal['id']}", {"amount": amount}, **{"If-Match": etag}).status_code
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=(c, n)) for c, n in zip(clients, (111, 222), strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses) == [200, 412]
    saved = Deal.objects.get(pk=deal["id"])
    assert saved.amount in (111, 222) and saved.version == 2
