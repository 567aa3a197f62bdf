"""/api/subscriptions and /api/nps through HTTP: starting a subscription, MRR movements with the
customer's journey moving along, renewal and churn, NPS answers; every refusal."""

from __future__ import annotations

import datetime as dt

import pytest

from kyogyo.customers.models import Account
from kyogyo.journey.models import Milestone
from kyogyo.marketing.models import Activity
from kyogyo.success.models import NpsResponse, Subscription, SubscriptionChange
from kyogyo.testing import T0

DAY = dt.timedelta(days=1)


def stage_of(contact_id: int) -> str:
    return Milestone.objects.select_related("current_stage").get(subject_id=contact_id).current_stage.key


@pytest.fixture
def customer(make_contact, walk):
    """A person of a company who walked all the way to active (a live customer)."""
    steps = ["mql", "sal", "sql", "opportunity", "won", "onboarding", "active"]
    return walk(make_contact(at=T0), [(stage, T0 + (n + 1) * DAY) for n, stage in enumerate(steps)])


@pytest.fixture
def subscription(api, people, customer) -> dict:
    answer = api(people.csm).post(
        "/subscriptions",
        {"account_id": customer.account_id, "plan": "Team", "mrr": 100_000, "starts_on": "2026-05-01"},
    )
    assert answer.status_code == 201, answer.json()
    return answer.json()


# --- subscriptions ------------------------------------------------------------------------


def test_start_a_subscription(api, people, customer, subscription):
    assert (subscription["plan"], subscription["mrr"], subscription["status"]) == ("Team", 100_000, "active")
    assert (subscription["billing_period"], subscription["currency"]) == ("monthly", "JPY")
    assert Account.objects.get(pk=customer.account_id).kind == "customer"
    changes = api(people.marketer).get(f"/subscriptions/{subscription['id']}/changes").json()["items"]
    assert [(c["kind"], c["mrr_before"], c["mrr_after"], c["delta"]) for c in changes] == [
        ("new", 0, 100_000, 100_000)
    ]
    one = api(people.marketer).get(f"/subscriptions/{subscription['id']}")
    assert one.json() == subscription and one["ETag"]


def test_start_refusals(api, people, customer, make_contact):
    body = {"account_id": customer.account_id, "plan": "Team", "mrr": 1, "starts_on": "2026-05-01"}
    for user in (people.is_rep, people.fs_rep, people.marketer, people.outsider):
        assert api(user).post("/subscriptions", body).status_code == 403
    csm = api(people.csm)
    bad = csm.post(
        "/subscriptions",
        {
            "account_id": customer.account_id,
            "plan": "",
            "mrr": -1,
            "starts_on": "May",
            "billing_period": "daily",
        },
    )
    assert bad.status_code == 422
    assert {d["field"] for d in bad.json()["error"]["details"]} == {
        "plan",
        "mrr",
        "starts_on",
        "billing_period",
    }
    missing = csm.post("/subscriptions", {**body, "account_id": 999_999})
    assert missing.status_code == 404 and missing.json()["error"]["details"][0]["field"] == "account_id"
    assert csm.post("/subscriptions", {**body, "deal_id": 999_999}).status_code == 404
    assert Subscription.objects.count() == 0


def test_a_deal_of_another_company_is_refused(api, people, customer, make_contact, walk):
    from kyogyo.deals.actions import qualify

    other = walk(make_contact(at=T0), [("mql", T0 + DAY), ("sal", T0 + 2 * DAY)])
    deal = qualify(other, actor=None, via="system", name="Elsewhere", amount=1, at=T0 + 3 * DAY)
    body = {"account_id": customer.account_id, "plan": "Team", "mrr": 1, "starts_on": "2026-05-01"}
    wrong = api(people.csm).post("/subscriptions", {**body, "deal_id": deal.pk})
    assert wrong.status_code == 422 and wrong.json()["error"]["details"][0]["field"] == "deal_id"


def test_expansion_moves_the_customer_on(api, people, customer, subscription):
    csm = api(people.csm)
    path = f"/subscriptions/{subscription['id']}/mrr"
    grown = csm.post(path, {"mrr": 150_000, "on": "2026-06-01", "contact_id": customer.pk})
    assert grown.status_code == 201
    assert (grown.json()["kind"], grown.json()["delta"], grown.json()["occurred_on"]) == (
        "expansion",
        50_000,
        "2026-06-01",
    )
    assert stage_of(customer.pk) == "expanded"
    shrunk = csm.post(path, {"mrr": 120_000, "on": "2026-07-01"})
    assert (shrunk.json()["kind"], shrunk.json()["mrr_before"], shrunk.json()["mrr_after"]) == (
        "contraction",
        150_000,
        120_000,
    )
    assert api(people.csm).get(f"/subscriptions/{subscription['id']}").json()["mrr"] == 120_000
    unchanged = csm.post(path, {"mrr": 120_000})
    assert unchanged.status_code == 409 and unchanged.json()["error"]["code"] == "no_change"
    assert csm.post(path, {"mrr": 0}).json()["error"]["code"] == "use_churn"
    assert csm.post(path, {"mrr": -5}).status_code == 422
    assert api(people.fs_rep).post(path, {"mrr": 1}).status_code == 403


def test_a_person_of_another_company_is_refused(api, people, subscription, make_contact):
    stranger = make_contact(at=T0)
    wrong = api(people.csm).post(
        f"/subscriptions/{subscription['id']}/mrr", {"mrr": 2, "contact_id": stranger.pk}
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["details"][0]["field"] == "contact_id"
    missing = api(people.csm).post(
        f"/subscriptions/{subscription['id']}/mrr", {"mrr": 2, "contact_id": 999_999}
    )
    assert missing.status_code == 404
    assert SubscriptionChange.objects.count() == 1


def test_renew_and_churn(api, people, customer, subscription):
    csm = api(people.csm)
    base = f"/subscriptions/{subscription['id']}"
    plain = csm.client.post(f"/api{base}/renew", data="", content_type="application/json")  # no body
    assert plain.status_code == 200 and plain.json()["stage_change"] is None
    renewed = csm.post(f"{base}/renew", {"on": "2027-04-30", "contact_id": customer.pk})
    assert renewed.json()["stage_change"]["to_stage"] == "renewed" and stage_of(customer.pk) == "renewed"
    assert renewed.json()["subscription"]["mrr"] == 100_000
    early = csm.post(f"{base}/churn", {"on": "2026-04-01"})
    assert early.status_code == 422 and early.json()["error"]["code"] == "bad_date"
    churned = csm.post(f"{base}/churn", {"on": "2027-06-30", "contact_id": customer.pk})
    assert churned.status_code == 201
    assert (churned.json()["kind"], churned.json()["mrr_before"], churned.json()["mrr_after"]) == (
        "churn",
        100_000,
        0,
    )
    assert stage_of(customer.pk) == "churned"
    shown = csm.get(base).json()
    assert (shown["status"], shown["mrr"], shown["ends_on"]) == ("churned", 0, "2027-06-30")
    for action, body in (("churn", {}), ("renew", {}), ("mrr", {"mrr": 5})):
        refused = csm.post(f"{base}/{action}", body)
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_active"


def test_list_filters_pages_and_queries(
    api, people, customer, subscription, make_contact, django_assert_max_num_queries
):
    other = make_contact(at=T0)
    csm = api(people.csm)
    second = csm.post(
        "/subscriptions", {"account_id": other.account_id, "plan": "Pro", "mrr": 5, "starts_on": "2026-05-01"}
    )
    csm.post(f"/subscriptions/{second.json()['id']}/churn", {"on": "2026-06-01"})
    client = api(people.is_rep)
    client.get("/me")
    # the token, the rate counter (and the savepoint pair around it in a test), the page
    with django_assert_max_num_queries(5):
        everything = client.get("/subscriptions").json()["items"]
    assert [s["id"] for s in everything] == [subscription["id"], second.json()["id"]]
    assert [s["plan"] for s in client.get("/subscriptions", {"status": "churned"}).json()["items"]] == ["Pro"]
    by_account = client.get("/subscriptions", {"account_id": customer.account_id}).json()["items"]
    assert [s["id"] for s in by_account] == [subscription["id"]]
    page = client.get("/subscriptions", {"limit": 1}).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    with django_assert_max_num_queries(6):  # … and the subscription
        changes = client.get(f"/subscriptions/{second.json()['id']}/changes").json()["items"]
    assert [c["kind"] for c in changes] == ["new", "churn"]
    assert client.get("/subscriptions", {"status": "paused"}).status_code == 422


def test_unknown_and_unreadable_answer_alike(api, people, subscription):
    unknown = api(people.csm).get("/subscriptions/999999")
    hidden = api(people.outsider).get(f"/subscriptions/{subscription['id']}")
    assert unknown.status_code == hidden.status_code == 404 and unknown.json() == hidden.json()
    assert api(people.outsider).get(f"/subscriptions/{subscription['id']}/changes").status_code == 404
    assert api(people.outsider).post(f"/subscriptions/{subscription['id']}/renew").status_code == 404
    assert api(people.outsider).get("/subscriptions").status_code == 403
    assert api(people.csm).get("/subscriptions/999999/changes").status_code == 404


# --- NPS ----------------------------------------------------------------------------------


def test_record_and_list_nps(api, people, customer, make_contact, django_assert_max_num_queries):
    csm = api(people.csm)
    answer = csm.post(
        "/nps",
        {
            "contact_id": customer.pk,
            "score": 9,
            "comment": "great",
            "answered_at": "2026-06-01T10:00:00+09:00",
        },
    )
    assert answer.status_code == 201
    assert (answer.json()["score"], answer.json()["category"], answer.json()["account_id"]) == (
        9,
        "promoter",
        customer.account_id,
    )
    assert Activity.objects.filter(contact=customer, type="survey_answer").count() == 1
    other = make_contact(at=T0)
    csm.post("/nps", {"contact_id": other.pk, "score": 3, "answered_at": "2026-08-01T10:00:00+09:00"})
    client = api(people.marketer)
    client.get("/me")
    # the token, the rate counter (and the savepoint pair around it in a test), the page
    with django_assert_max_num_queries(5):
        everything = client.get("/nps").json()["items"]
    assert [(n["score"], n["category"]) for n in everything] == [(9, "promoter"), (3, "detractor")]
    assert [n["score"] for n in client.get("/nps", {"contact_id": other.pk}).json()["items"]] == [3]
    assert [n["score"] for n in client.get("/nps", {"account_id": customer.account_id}).json()["items"]] == [
        9
    ]
    assert [
        n["score"] for n in client.get("/nps", {"since": "2026-07-01T00:00:00+09:00"}).json()["items"]
    ] == [3]
    assert client.get("/nps", {"since": "2026-07-01T00:00:00"}).status_code == 422  # no time zone


def test_nps_refusals(api, people, customer):
    body = {"contact_id": customer.pk, "score": 8}
    assert api(people.marketer).post("/nps", body).status_code == 403
    assert api(people.outsider).post("/nps", body).status_code == 403
    assert api(people.outsider).get("/nps").status_code == 403
    csm = api(people.csm)
    bad = csm.post("/nps", {"contact_id": customer.pk, "score": 11, "answered_at": "yesterday"})
    assert bad.status_code == 422
    assert {d["field"] for d in bad.json()["error"]["details"]} == {"score", "answered_at"}
    future = csm.post("/nps", {**body, "answered_at": "2099-01-01T00:00:00+09:00"})
    assert future.status_code == 422 and future.json()["error"]["details"][0]["field"] == "answered_at"
    missing = csm.post("/nps", {"contact_id": 999_999, "score": 8})
    assert missing.status_code == 404 and missing.json()["error"]["details"][0]["field"] == "contact_id"
    assert NpsResponse.objects.count() == 0 and not Activity.objects.filter(type="survey_answer").exists()
    assert api(people.manager).post("/nps", body).status_code == 201
