"""The Customer Success pages over a hand-checked book: the figures equal the reports',
every number links to its records, the forms validate, refuse and deny as they should."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from kyogyo.analytics import snapshot
from kyogyo.success import figures, numbers, renewals
from kyogyo.success.models import Subscription, SubscriptionChange


def html_of(client, user, path, **params):
    client.force_login(user)
    response = client.get(path, params)
    assert response.status_code == 200
    return response.content.decode()


def test_the_saas_numbers_are_as_computed_by_hand(book):
    saas = numbers.saas()
    assert saas is not None
    assert saas.total["mrr_start"] == 350_000
    assert saas.total["grr"]["value"] == pytest.approx(0.4)
    assert saas.total["nrr"]["value"] == pytest.approx(190 / 350, abs=1e-4)
    assert saas.periods[-1]["mrr_end"] == 220_000
    moves = {p["period"]: p["movements"] for p in saas.periods}[f"{book.last_month:%Y-%m}"]
    assert {k: v["mrr"] for k, v in moves.items()} == {
        "new": 30_000,
        "expansion": 50_000,
        "contraction": 10_000,
        "churn": 200_000,
        "reactivation": 0,
    }


def test_the_movements_chart_stacks_losses_below_and_drills_down(book):
    figure = figures.mrr_movements(numbers.saas())
    bars = {trace["name"]: trace for trace in figure["data"]}
    month = [p for p in bars["Churn"]["x"]].index(f"{book.last_month:%Y-%m}")
    assert bars["Churn"]["y"][month] == -200_000
    assert bars["Contraction"]["y"][month] == -10_000
    assert bars["Expansion"]["y"][month] == 50_000
    assert bars["MRR at month end"]["y"][-1] == 220_000
    drill = bars["Churn"]["customdata"][month]
    assert drill.startswith(reverse("success:movements")) and "kind=churn" in drill


def test_the_overview_shows_the_figures_and_links_them(client, book):
    html = html_of(client, book.people.fs_rep, reverse("success:home"))
    assert "40.0%" in html and "54.3%" in html and "¥220,000" in html
    assert 'data-chart="mrr-chart"' in html and 'id="mrr-chart"' in html
    assert reverse("success:subscription", args=[book.c.pk]) in html  # at risk, listed
    assert "Great support" in html


def test_the_overview_in_japanese(client, book):
    book.people.csm.language = "ja"
    book.people.csm.save()
    html = html_of(client, book.people.csm, reverse("success:home"))
    assert "カスタマーサクセス" in html


def test_an_empty_book_says_so(client, people):
    html = html_of(client, people.csm, reverse("success:home"))
    assert "No subscriptions yet." in html
    html = html_of(client, people.csm, reverse("success:risk"))
    assert "No active customers to score yet." in html


def test_the_movements_behind_a_bar(client, book):
    day = f"{book.last_month:%Y-%m-%d}"
    html = html_of(
        client, book.people.csm, reverse("success:movements"), kind="churn", **{"from": day, "to": day}
    )
    assert f'id="change-{book.b.changes.last().pk}"' in html
    assert "Alpha KK" not in html


def test_renewal_dates():
    def sub(start, period):
        return Subscription(starts_on=start, billing_period=period, mrr=1)

    assert renewals.next_renewal(sub(dt.date(2025, 3, 31), "annual"), dt.date(2026, 3, 1)) == dt.date(
        2026, 3, 31
    )
    assert renewals.next_renewal(sub(dt.date(2025, 3, 31), "annual"), dt.date(2026, 4, 1)) == dt.date(
        2027, 3, 31
    )
    assert renewals.next_renewal(sub(dt.date(2026, 1, 31), "monthly"), dt.date(2026, 2, 15)) == dt.date(
        2026, 2, 28
    )
    assert renewals.next_renewal(sub(dt.date(2026, 1, 31), "monthly"), dt.date(2026, 1, 31)) == dt.date(
        2026, 2, 28
    )
    assert renewals.next_renewal(sub(dt.date(2026, 1, 1), "weekly"), dt.date(2026, 1, 9)) == dt.date(
        2026, 1, 15
    )


def test_the_renewals_calendar(client, book):
    html = html_of(client, book.people.csm, reverse("success:renewals"))
    assert "Alpha KK" in html and "Gamma KK" in html  # monthly: next month
    assert "Beta KK" not in html  # churned
    assert "Delta KK" not in html  # annual: renews in about eleven months
    html = html_of(client, book.people.csm, reverse("success:renewals"), days="366", grain="week")
    assert "Delta KK" in html
    html = html_of(client, book.people.csm, reverse("success:renewals"), owner=book.people.fs_rep.pk)
    assert "No renewals in this range." in html


def test_the_risk_list_sorts_and_pages(client, book):
    html = html_of(client, book.people.csm, reverse("success:risk"))
    assert html.index("Gamma KK") < html.index("Alpha KK")  # contraction scores lower
    html = html_of(client, book.people.csm, reverse("success:risk"), sort="name")
    assert html.index("Alpha KK") < html.index("Delta KK") < html.index("Gamma KK")
    html = html_of(client, book.people.csm, reverse("success:risk"), page="2")
    assert "Alpha KK" not in html


def test_nps_filters(client, book):
    html = html_of(client, book.people.csm, reverse("success:nps"), category="detractor")
    assert "Too slow" in html and "Great support" not in html
    html = html_of(client, book.people.csm, reverse("success:nps"), score="10")
    assert "Great support" in html and "Too slow" not in html
    html = html_of(client, book.people.csm, reverse("success:nps"), score="11")  # invalid: shown, all listed
    assert "Too slow" in html


def test_the_subscription_page_explains_the_health(client, book):
    html = html_of(client, book.people.fs_rep, reverse("success:subscription", args=[book.c.pk]))
    assert "MRR fell over 90 days." in html
    assert 'id="history-chart"' in html
    assert "Change MRR" not in html  # field sales reads, does not change


def test_a_csm_changes_renews_and_churns(client, book):
    client.force_login(book.people.csm)
    url = reverse("success:change_mrr", args=[book.a.pk])
    response = client.post(url, {"mrr": "180000", "on": "2026-12-01"})
    assert response.status_code == 302
    assert Subscription.objects.get(pk=book.a.pk).mrr == 180_000
    response = client.post(reverse("success:renew", args=[book.a.pk]), {"renew-on": "2026-12-01"})
    assert response.status_code == 302
    response = client.post(reverse("success:churn", args=[book.a.pk]), {"churn-on": "2026-12-02"})
    assert response.status_code == 302
    assert Subscription.objects.get(pk=book.a.pk).status == Subscription.Status.CHURNED


def test_invalid_input_and_refusals_are_said(client, book):
    client.force_login(book.people.csm)
    url = reverse("success:change_mrr", args=[book.a.pk])
    response = client.post(url, {"mrr": "lots", "on": ""})
    assert response.status_code == 400
    assert "Enter a whole number." in response.content.decode()
    response = client.post(url, {"mrr": "150000", "on": "2026-12-01"})  # unchanged
    assert response.status_code == 400
    assert "The MRR is unchanged." in response.content.decode()
    response = client.post(reverse("success:churn", args=[book.b.pk]), {"churn-on": "2026-12-01"})
    assert response.status_code == 400
    assert "no longer active" in response.content.decode()
    assert SubscriptionChange.objects.filter(subscription=book.a).count() == 2


def test_other_teams_cannot_change_subscriptions(client, book):
    client.force_login(book.people.fs_rep)
    response = client.post(reverse("success:change_mrr", args=[book.a.pk]), {"mrr": "1", "on": "2026-12-01"})
    assert response.status_code == 403
    assert Subscription.objects.get(pk=book.a.pk).mrr == 150_000


@pytest.mark.parametrize("name", ["success:movements", "success:nps", "success:renewals", "success:risk"])
def test_lists_cost_the_same_for_more_rows(client, book, django_assert_max_num_queries, name):
    from kyogyo.success.actions import record_nps, start_subscription

    for n in range(30):
        contact = book.contacts[n % 4]
        start_subscription(contact.account, plan=f"Extra {n}", mrr=1_000 + n, starts_on=book.long_ago)
        record_nps(contact, n % 11, comment=f"comment {n}")
    snapshot.refresh()
    client.force_login(book.people.csm)
    with django_assert_max_num_queries(12):
        assert client.get(reverse(name)).status_code == 200
