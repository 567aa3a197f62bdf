"""Stored text on the person's and company's pages renders as text: the XSS corpus in names,
titles, the company, notes, handoff notes, reject reasons, deal names, plans and NPS
comments — escaped in the HTML and inert in the browser."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from kyogyo.customers.models import Account, Contact
from kyogyo.customers.notes import add_note
from kyogyo.deals.models import Deal
from kyogyo.handoffs.models import Handoff
from kyogyo.journey.models import ReasonCode
from kyogyo.success.models import NpsResponse, Subscription
from kyogyo.web.xss_corpus import MARKER_CHECK, payloads, unescaped_markup

CORPUS = payloads()


@pytest.fixture
def poisoned(people, story):
    n = iter(range(len(CORPUS)))
    Contact.objects.filter(pk=story.customer.pk).update(
        first_name=CORPUS[next(n)][:100], last_name=CORPUS[next(n)][:100], title=CORPUS[next(n)][:150]
    )
    Contact.objects.filter(pk=story.colleague.pk).update(first_name=CORPUS[next(n)][:100])
    Account.objects.filter(pk=story.account.pk).update(
        name=CORPUS[next(n)][:200], industry=CORPUS[next(n)][:100]
    )
    Deal.objects.filter(account=story.account).update(name=CORPUS[next(n)][:200])
    Subscription.objects.filter(account=story.account).update(plan=CORPUS[next(n)][:100])
    NpsResponse.objects.filter(contact=story.customer).update(comment=CORPUS[next(n)])
    Handoff.objects.filter(subject=story.colleague).update(note=CORPUS[next(n)])
    for reason in ReasonCode.objects.all():
        reason.label, reason.label_ja = CORPUS[next(n)][:150], CORPUS[next(n)][:150]
        reason.save(update_fields=["label", "label_ja"])
    at = timezone.now() - dt.timedelta(days=1)
    for _ in range(20):
        add_note(author=people.csm, contact=story.customer, body=f"@fs_rep {CORPUS[next(n)]}", at=at)
        add_note(author=people.csm, account=story.account, body=CORPUS[next(n)], at=at)
    return story


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_pages_show_the_corpus_as_text(client, people, poisoned, language):
    people.manager.language = language
    people.manager.save()
    client.force_login(people.manager)
    for url in (
        reverse("customers:contact", args=[poisoned.customer.pk]),
        reverse("customers:contact", args=[poisoned.colleague.pk]),
        reverse("customers:account", args=[poisoned.account.pk]),
    ):
        html = client.get(url).content.decode()
        assert html.count("&lt;") > 20, url
        assert unescaped_markup(html) == [], url


def test_the_corpus_is_inert_in_the_browser(browse, people, poisoned):
    tab = browse(people.manager, language="ja")
    for path, name in (
        (reverse("customers:contact", args=[poisoned.customer.pk]), "contact-xss-corpus"),
        (reverse("customers:account", args=[poisoned.account.pk]), "account-xss-corpus"),
    ):
        tab.goto(path)
        assert tab.page.evaluate(MARKER_CHECK) == {"elements": 0, "ran": False}
        tab.shot(name)
