"""Stored text is shown as text: the XSS corpus in people's and companies' names, reject
reasons and handoff notes renders inert — in the HTML (no corpus tag survives as markup)
and in the browser (no corpus element in the DOM, no script ran)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from kyogyo.handoffs.models import Handoff
from kyogyo.journey.models import ReasonCode
from kyogyo.web.xss_corpus import MARKER_CHECK, payloads, unescaped_markup

CORPUS = payloads()


@pytest.fixture
def poisoned(people, make_contact, walk):
    """People waiting in the inside-sales queue whose names, companies and the reject reasons
    are payloads, all assigned to is_rep and owned by them."""
    now = timezone.now()
    for n in range(0, 75, 3):
        contact = make_contact(
            first_name=CORPUS[n][:100], last_name=CORPUS[n + 1][:100], at=now, owner=people.is_rep
        )
        contact.account.name = CORPUS[n + 2][:200]
        contact.account.save(update_fields=["name"])
        walk(contact, [("mql", now)])
    Handoff.objects.filter(status=Handoff.Status.OPEN).update(assigned_to=people.is_rep)
    for n, reason in enumerate(ReasonCode.objects.filter(kind=ReasonCode.Kind.REJECT)):
        reason.label = CORPUS[100 + n][:150]
        reason.label_ja = CORPUS[200 + n][:150]
        reason.save(update_fields=["label", "label_ja"])
    return people


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_home_page_shows_the_corpus_as_text(client, poisoned, language):
    poisoned.is_rep.language = language
    poisoned.is_rep.save()
    client.force_login(poisoned.is_rep)
    html = client.get("/").content.decode()
    assert html.count("&lt;") > 50  # the payloads are there, escaped
    assert unescaped_markup(html) == []


def test_the_corpus_is_inert_in_the_browser(browse, poisoned):
    tab = browse(poisoned.is_rep, language="ja")
    result = tab.page.evaluate(MARKER_CHECK)
    assert result == {"elements": 0, "ran": False}
    tab.shot("home-xss-corpus")
