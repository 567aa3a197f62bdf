"""Stored text on the Customer Success pages renders inert: the XSS corpus in NPS verbatims,
companies' and people's names, plans and hand-back notes — as text in the HTML and in the
browser (no corpus element in the DOM, no script ran)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from kyogyo.analytics import snapshot
from kyogyo.success.actions import record_nps, start_subscription
from kyogyo.success.models import ExpansionHandback
from kyogyo.web.xss_corpus import MARKER_CHECK, payloads, unescaped_markup

CORPUS = payloads()


@pytest.fixture
def poisoned(people, make_contact):
    subscriptions = []
    now = timezone.now()
    for n in range(0, 60, 4):
        contact = make_contact(first_name=CORPUS[n][:100], last_name=CORPUS[n + 1][:100], at=now)
        contact.account.name = CORPUS[n + 2][:200]
        contact.account.save(update_fields=["name"])
        subscription = start_subscription(
            contact.account,
            plan=CORPUS[n + 3][:100],
            mrr=10_000 + n,
            starts_on=now.date() - dt.timedelta(days=40),
        )
        subscriptions.append(subscription)
        record_nps(contact, n % 11, comment=CORPUS[100 + n], at=now - dt.timedelta(hours=n))
    snapshot.refresh()
    return subscriptions


PAGES = ["success:home", "success:risk", "success:renewals", "success:nps", "success:movements"]


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("name", PAGES)
def test_the_lists_show_the_corpus_as_text(client, people, poisoned, name, language):
    people.csm.language = language
    people.csm.save()
    client.force_login(people.csm)
    html = client.get(reverse(name)).content.decode()
    assert html.count("&lt;") > 5
    assert unescaped_markup(html) == []


def test_the_subscription_page_shows_the_corpus_as_text(client, people, poisoned):
    from kyogyo.handoffs.models import Handoff
    from kyogyo.journey.models import Transition

    subscription = poisoned[0]
    # a hand-back note from the corpus (made directly: the account's person is no customer)
    contact = subscription.account.contacts.first()
    transition = Transition.objects.filter(subject=contact).first()
    handoff = Handoff.objects.create(
        transition=transition,
        subject=contact,
        stage=transition.to_stage,
        from_team=people.csm.team,
        to_team=people.fs_rep.team,
        created_at=timezone.now(),
        due_at=timezone.now(),
    )
    ExpansionHandback.objects.create(
        subscription=subscription, handoff=handoff, amount=1, note=CORPUS[300], created_at=timezone.now()
    )
    client.force_login(people.csm)
    html = client.get(reverse("success:subscription", args=[subscription.pk])).content.decode()
    assert html.count("&lt;") > 3
    assert unescaped_markup(html) == []


def test_the_corpus_is_inert_in_the_browser(browse, people, poisoned):
    tab = browse(people.csm, language="ja")
    for name in ("success:home", "success:nps"):
        tab.goto(reverse(name))
        assert tab.page.evaluate(MARKER_CHECK) == {"elements": 0, "ran": False}
    tab.shot("success-xss-corpus")


@pytest.fixture
def poisoned_new_customers(people):
    """New customers whose names, companies and deals are from the corpus."""
    from kyogyo.success.tests.new_customers import new_customer

    return [
        new_customer(
            people,
            first_name=CORPUS[n][:100],
            last_name=CORPUS[n + 1][:100],
            company=CORPUS[n + 2][:200],
            deal_name=CORPUS[n + 3][:200],
            accepted=n % 8 == 0,
        )
        for n in range(200, 240, 4)
    ]


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("name", ["success:home", "success:onboarding", "web:home"])
def test_new_customers_show_the_corpus_as_text(client, people, poisoned_new_customers, name, language):
    people.csm.language = language
    people.csm.save()
    client.force_login(people.csm)
    html = client.get(reverse(name)).content.decode()
    assert html.count("&lt;") > 20
    assert unescaped_markup(html) == []


def test_the_start_pages_show_the_corpus_as_text(client, people, poisoned_new_customers):
    contact = poisoned_new_customers[0]
    client.force_login(people.csm)
    for path in (
        reverse("success:start_subscription", args=[contact.pk]),
        reverse("customers:contact", args=[contact.pk]),
        reverse("customers:account", args=[contact.account_id]),
    ):
        html = client.get(path).content.decode()
        assert html.count("&lt;") > 2, path
        assert unescaped_markup(html) == [], path
    refused = client.post(
        reverse("success:start_subscription", args=[contact.pk]),
        {"plan": CORPUS[250][:100], "mrr": CORPUS[251]},
    )
    assert refused.status_code == 400
    typed = refused.content.decode()  # given back as typed, in attribute values, escaped
    assert CORPUS[250][:100] not in typed and escape(CORPUS[250][:100]) in typed
    assert CORPUS[251] not in typed


def test_new_customers_are_inert_in_the_browser(browse, people, poisoned_new_customers):
    tab = browse(people.csm, language="ja")
    for path in ("/", reverse("success:home"), reverse("success:onboarding")):
        tab.goto(path)
        assert tab.page.evaluate(MARKER_CHECK) == {"elements": 0, "ran": False}
    tab.page.locator("details.start-subscription summary").first.click()
    assert tab.page.evaluate(MARKER_CHECK) == {"elements": 0, "ran": False}
