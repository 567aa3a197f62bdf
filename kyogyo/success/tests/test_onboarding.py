"""New customers without a subscription: who is listed (won and handed to Customer Success,
no active subscription of their company), the form prefilled from the won deal, a start
through the pages that puts them in the Customer Success lists and off the new-customer
list, validation, refusals, denials, the empty states and the cost of the lists."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kyogyo.customers.models import Account
from kyogyo.journey.models import Milestone
from kyogyo.success import onboarding, pages
from kyogyo.success.actions import churn, start_subscription
from kyogyo.success.models import Subscription, SubscriptionChange
from kyogyo.success.tests.new_customers import new_customer

START = {
    "plan": "Business",
    "mrr": "100000",
    "billing_period": "monthly",
    "currency": "JPY",
    "starts_on": "2026-04-06",
}


def html_of(client, user, path, status=200, **params):
    client.force_login(user)
    response = client.get(path, params)
    assert response.status_code == status
    return response.content.decode()


def stage_of(contact) -> str:
    return Milestone.objects.select_related("current_stage").get(subject=contact).current_stage.key


def listed() -> list[int]:
    return [row.contact.pk for row in onboarding.page(1)[0]]


# ------------------------------------------------------------------ who is listed


@pytest.mark.parametrize(
    ("amount", "mrr"),
    [(1_200_000, 100_000), (1_000_005, 83_334), (1_000_001, 83_333), (6, 1), (5, 0), (0, 0)],
)
def test_a_years_amount_as_mrr_is_a_twelfth_rounded_half_up(amount, mrr):
    # 1,000,005 ÷ 12 = 83,333.75 → 83,334; 1,000,001 ÷ 12 = 83,333.42 → 83,333; 6 ÷ 12 = 0.5 → 1
    assert onboarding.monthly_of_yearly(amount) == mrr


def test_won_and_onboarding_customers_without_a_subscription_are_listed(people, make_contact, walk):
    onboarded = new_customer(people, company="Onboarded KK")
    waiting = new_customer(people, company="Waiting KK", accepted=False)
    paying = new_customer(people, company="Paying KK")
    start_subscription(paying.account, plan="Pro", mrr=10_000, starts_on=dt.date(2026, 4, 7))
    left = new_customer(people, company="Left KK")  # churned before: a win-back needs one again
    churn(
        start_subscription(left.account, plan="Pro", mrr=10_000, starts_on=dt.date(2026, 4, 7)),
        on=dt.date(2026, 5, 1),
    )
    prospect = walk(make_contact(), [("mql", onboarded.created_at)])

    assert stage_of(onboarded) == "onboarding" and stage_of(waiting) == "won"
    found = listed()
    assert set(found) == {onboarded.pk, waiting.pk, left.pk}
    assert paying.pk not in found and prospect.pk not in found
    rows = {row.contact.pk: row for row in onboarding.page(1)[0]}
    assert rows[waiting.pk].waits_for_accept and not rows[onboarded.pk].waits_for_accept
    assert rows[onboarded.pk].owner == people.csm  # who accepted the handoff
    assert rows[waiting.pk].owner == rows[waiting.pk].handoff.assigned_to  # routed, not yet taken
    assert rows[onboarded.pk].deal.amount == 1_200_000


def test_the_list_pages_oldest_first(people):
    import datetime as dt

    from kyogyo.testing import T0

    made = [new_customer(people, company=f"Company {n}", at=T0 + dt.timedelta(days=n)) for n in range(3)]
    first, more = onboarding.page(1, per_page=2)
    assert [r.contact.pk for r in first] == [made[0].pk, made[1].pk] and more
    second, more = onboarding.page(2, per_page=2)
    assert [r.contact.pk for r in second] == [made[2].pk] and not more


def test_the_form_is_prefilled_from_the_won_deal(people):
    customer = onboarding.of_contact(new_customer(people, amount=3_000_000))
    assert customer is not None
    initial = onboarding.prefill(customer, today=dt.date(2026, 12, 1))
    assert initial == {
        "billing_period": "monthly",
        "currency": "JPY",
        "mrr": 250_000,  # ¥3,000,000 a year ÷ 12
        "starts_on": dt.date(2026, 4, 6),  # the day the deal was won (Tokyo)
    }


def test_without_a_won_deal_the_mrr_is_left_to_type(people):
    from kyogyo.deals.models import Deal

    contact = new_customer(people)
    Deal.objects.filter(contact=contact).update(contact=None)  # e.g. won back without a deal
    customer = onboarding.of_contact(contact)
    assert customer is not None and customer.deal is None
    assert onboarding.prefill(customer, today=dt.date(2026, 12, 1)) == {
        "billing_period": "monthly",
        "currency": "JPY",
        "starts_on": dt.date(2026, 12, 1),
    }


# ------------------------------------------------------------------ the pages


def test_the_overview_lists_them_with_owner_since_and_deal(client, people):
    contact = new_customer(people, company="Acme KK", deal_name="Acme — Kyogyo")
    html = html_of(client, people.csm, reverse("success:home"))
    assert f'id="new-customer-{contact.pk}"' in html
    row = html[html.index(f'id="new-customer-{contact.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Acme KK" in row and "Hanako Sato" in row and "Onboarding" in row
    assert "¥1,200,000" in row and "Acme — Kyogyo" in row and ">csm<" in row
    assert 'datetime="2026-04-06T15:00:00+09:00"' in row  # accepted at T0 + 5 h
    assert f'action="{reverse("success:start_subscription", args=[contact.pk])}"' in row
    assert 'value="100000"' in row  # the MRR, a twelfth of the deal


def test_other_teams_see_the_list_without_the_form(client, people):
    contact = new_customer(people)
    html = html_of(client, people.fs_rep, reverse("success:home"))
    assert f'id="new-customer-{contact.pk}"' in html
    assert reverse("success:start_subscription", args=[contact.pk]) not in html


def test_empty_states(client, people):
    for path in (reverse("success:home"), reverse("success:onboarding")):
        assert "No new customer is waiting for a subscription." in html_of(client, people.csm, path)
    assert "No new customer is waiting for a subscription." in html_of(client, people.csm, "/")
    assert "New customers without a subscription" not in html_of(client, people.is_rep, "/")


def test_the_cs_home_shows_them_with_a_link_to_start(client, people):
    contact = new_customer(people)
    html = html_of(client, people.csm, "/")
    assert f'id="new-customer-{contact.pk}"' in html
    assert f'href="{reverse("success:start_subscription", args=[contact.pk])}"' in html


def test_a_csm_starts_the_subscription_and_the_customer_moves_to_the_cs_lists(client, people):
    contact = new_customer(people, company="Acme KK")
    client.force_login(people.csm)
    url = reverse("success:start_subscription", args=[contact.pk])
    assert 'value="100000"' in client.get(url).content.decode()

    response = client.post(url, START)

    subscription = Subscription.objects.get(account=contact.account)
    assert response.status_code == 302
    assert response["Location"] == reverse("success:subscription", args=[subscription.pk])
    assert (subscription.plan, subscription.mrr, subscription.currency, subscription.starts_on) == (
        "Business",
        100_000,
        "JPY",
        dt.date(2026, 4, 6),
    )
    assert subscription.deal.contact_id == contact.pk  # the won deal it came from
    assert list(
        SubscriptionChange.objects.filter(subscription=subscription).values_list("kind", "mrr_after")
    ) == [("new", 100_000)]
    assert Account.objects.get(pk=contact.account_id).kind == Account.Kind.CUSTOMER
    assert stage_of(contact) == "onboarding"  # live once the stage rules say so, not when billed
    page = client.get(response["Location"]).content.decode()
    assert "The subscription of Acme KK is started" in page
    assert contact.pk not in listed()
    assert f'id="new-customer-{contact.pk}"' not in client.get(reverse("success:home")).content.decode()
    assert "No subscriptions yet." not in client.get(reverse("success:home")).content.decode()
    renewals = client.get(reverse("success:renewals"), {"days": "366"}).content.decode()
    assert reverse("success:subscription", args=[subscription.pk]) in renewals
    assert [r.subscription.pk for r in pages.upcoming_renewals(366)] == [subscription.pk]


def test_a_won_customer_whose_handoff_waits_can_be_started_too(client, people):
    contact = new_customer(people, accepted=False)
    client.force_login(people.csm)
    response = client.post(reverse("success:start_subscription", args=[contact.pk]), START)
    assert response.status_code == 302
    assert Subscription.objects.filter(account=contact.account).count() == 1
    assert stage_of(contact) == "won"  # the handoff is still CS's to accept


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"plan": "  "}, "This field is required."),
        ({"mrr": "lots"}, "Enter a whole number."),
        ({"mrr": "0"}, "Ensure this value is greater than or equal to 1."),
        ({"mrr": "-5"}, "Ensure this value is greater than or equal to 1."),
        ({"currency": "YEN1"}, "The currency is a three-letter code such as JPY."),
        ({"currency": "¥¥¥"}, "The currency is a three-letter code such as JPY."),
        ({"billing_period": "daily"}, "Select a valid choice."),
        ({"starts_on": "2026-02-30"}, "Enter a valid date."),
        ({"starts_on": "2099-01-01"}, "A subscription starts within a year from today."),
        ({"plan": "x" * 101}, "Ensure this value has at most 100 characters"),
    ],
)
def test_invalid_input_is_said_and_nothing_is_written(client, people, changes, said):
    contact = new_customer(people)
    client.force_login(people.csm)
    response = client.post(reverse("success:start_subscription", args=[contact.pk]), {**START, **changes})
    assert response.status_code == 400
    html = response.content.decode()
    assert said in html
    assert 'class="field invalid"' in html
    assert not Subscription.objects.exists()
    assert contact.pk in listed()


def test_a_lower_case_currency_is_taken_in_capitals(client, people):
    contact = new_customer(people)
    client.force_login(people.csm)
    client.post(reverse("success:start_subscription", args=[contact.pk]), {**START, "currency": "usd"})
    assert Subscription.objects.get().currency == "USD"


def test_a_second_start_is_refused_and_the_first_kept(client, people):
    contact = new_customer(people)
    client.force_login(people.csm)
    url = reverse("success:start_subscription", args=[contact.pk])
    assert client.post(url, START).status_code == 302
    response = client.post(url, {**START, "mrr": "5"})
    assert response.status_code == 400
    assert "This person is not a new customer waiting for a subscription." in response.content.decode()
    assert list(Subscription.objects.values_list("mrr", flat=True)) == [100_000]
    page = client.get(url).content.decode()  # an old tab: says why and links the subscription
    assert "This company already has an active subscription." in page
    assert reverse("success:subscription", args=[Subscription.objects.get().pk]) in page


def test_someone_who_is_no_new_customer_is_refused(client, people, make_contact, walk):
    prospect = walk(make_contact(), [("mql", dt.datetime(2026, 4, 6, 10, tzinfo=dt.UTC))])
    client.force_login(people.csm)
    url = reverse("success:start_subscription", args=[prospect.pk])
    response = client.post(url, START)
    assert response.status_code == 400
    assert "This person is not a new customer waiting for a subscription." in response.content.decode()
    assert "not a new customer" in client.get(url).content.decode()
    assert not Subscription.objects.exists()
    assert client.get(reverse("success:start_subscription", args=[999_999])).status_code == 404


def test_the_action_refuses_a_company_that_pays_already(people):
    from kyogyo.success.actions import SubscriptionError, start_first_subscription

    contact = new_customer(people)
    start_subscription(contact.account, plan="Pro", mrr=1, starts_on=dt.date(2026, 4, 7))
    with pytest.raises(SubscriptionError) as refused:
        start_first_subscription(contact, plan="Pro", mrr=2, starts_on=dt.date(2026, 4, 7))
    assert refused.value.code == "already_subscribed"
    assert Subscription.objects.count() == 1


@pytest.mark.parametrize("role", ["fs_rep", "is_rep", "marketer", "outsider"])
def test_only_customer_success_and_managers_start_subscriptions(client, people, role):
    contact = new_customer(people)
    client.force_login(getattr(people, role))
    url = reverse("success:start_subscription", args=[contact.pk])
    assert client.post(url, START).status_code == 403
    assert client.get(url).status_code == 403
    assert not Subscription.objects.exists()


def test_a_manager_may_start_one(client, people):
    contact = new_customer(people)
    client.force_login(people.manager)
    assert client.post(reverse("success:start_subscription", args=[contact.pk]), START).status_code == 302


# ------------------------------------------------------------------ the record pages


def test_the_person_and_company_pages_carry_the_form_for_customer_success(client, people):
    contact = new_customer(people)
    action = f'action="{reverse("success:start_subscription", args=[contact.pk])}"'
    person, company = (
        reverse("customers:contact", args=[contact.pk]),
        reverse("customers:account", args=[contact.account_id]),
    )
    assert action in html_of(client, people.csm, person)
    assert action in html_of(client, people.csm, company)
    assert action not in html_of(client, people.fs_rep, person)
    assert action not in html_of(client, people.fs_rep, company)
    client.force_login(people.csm)
    client.post(reverse("success:start_subscription", args=[contact.pk]), START)
    assert action not in html_of(client, people.csm, person)
    assert action not in html_of(client, people.csm, company)


# ------------------------------------------------------------------ cost


def queries_of(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("path", ["/success/", "/success/onboarding/", "/"])
def test_the_lists_cost_the_same_for_more_customers(client, people, path):
    for n in range(2):
        new_customer(people, company=f"First {n}")
    client.force_login(people.csm)
    few = queries_of(client, path)
    for n in range(12):
        new_customer(people, company=f"More {n}", accepted=n % 2 == 0)
    assert queries_of(client, path) == few
    assert few <= 17  # the home page: its workspace, and the fields admins marked restricted
