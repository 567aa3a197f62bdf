"""Stored text on the lists and the search is shown as text: the XSS corpus in people's and
companies' names, deal names, sources, reject reasons, owners' names and saved views'
names renders inert — in the HTML (no corpus tag survives as markup) and in the browser
(no corpus element in the DOM, no script ran) — on each list, the search, and a bulk
action's confirmation and outcome (which name the rows)."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from kyogyo.deals.models import Deal, PipelineStage
from kyogyo.journey.models import ReasonCode
from kyogyo.web.actions import save_view
from kyogyo.web.xss_corpus import MARKER_CHECK, payloads, unescaped_markup

CORPUS = payloads()
PAGES = ["/people/", "/companies/", "/deals/", "/handoffs/", "/search/?q=%3Cs", "/search/?q=yamada"]


@pytest.fixture
def poisoned(people, make_contact, walk):
    now = timezone.now()
    stage = PipelineStage.objects.filter(is_won=False, is_lost=False).first()
    people.marketer.first_name = CORPUS[300][:150]
    people.marketer.save(update_fields=["first_name"])
    made = []
    for n in range(0, 60, 4):
        contact = make_contact(
            first_name=CORPUS[n][:100],
            last_name=CORPUS[n + 1][:100],
            source=CORPUS[n + 2][:60],
            at=now,
            owner=people.marketer,
        )
        contact.account.name = CORPUS[n + 3][:200]
        contact.account.segment = CORPUS[n][:40]
        contact.account.save(update_fields=["name", "segment"])
        Deal.objects.create(
            name=CORPUS[n + 2][:200], account=contact.account, amount=1, pipeline_stage=stage, created_at=now
        )
        walk(contact, [("mql", now)])
        made.append(contact)
    for n, reason in enumerate(ReasonCode.objects.all()):
        reason.label = CORPUS[100 + n][:150]
        reason.label_ja = CORPUS[200 + n][:150]
        reason.save(update_fields=["label", "label_ja"])
    for n, list_name in enumerate(("people", "companies", "deals", "handoffs")):
        save_view(
            owner=people.marketer,
            list_name=list_name,
            name=CORPUS[150 + n][:100],
            query=CORPUS[160 + n],
            shared=True,
        )
    return made


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_lists_show_the_corpus_as_text(client, people, poisoned, language):
    people.manager.language = language
    people.manager.save()
    client.force_login(people.manager)
    for path in PAGES:
        html = client.get(path).content.decode()
        assert html.count("&lt;") > 10, path  # the payloads are there, escaped
        assert markup(html) == [], path


def markup(html: str) -> list[str]:
    """Corpus tags that reached the page as markup. A saved view's link is our own <a> whose
    href is the view's query string, kept percent-encoded (no < > " & left in it): the corpus
    words in it are text of a URL, not markup."""
    return [
        tag
        for tag in unescaped_markup(html)
        if not re.fullmatch(r'<a href="\?[^<>"&]*" translate="no">', tag)
    ]


def test_bulk_pages_show_the_corpus_as_text(client, people, poisoned):
    client.force_login(people.csm)  # may change none of them: every row is named as refused
    ids = [str(c.pk) for c in poisoned]
    fields = {"action": "assign", "owner": str(people.csm.pk), "ids": ids}
    for answer in (
        client.post("/people/bulk/", fields),
        client.post("/people/bulk/", {**fields, "confirmed": "1"}),
    ):
        html = answer.content.decode()
        assert html.count("&lt;") > 10
        assert markup(html) == []


def test_the_corpus_is_inert_in_the_browser(browse, people, poisoned):
    tab = browse(people.manager, language="ja")
    for path in PAGES:
        tab.goto(path)
        assert tab.page.evaluate(MARKER_CHECK) == {"elements": 0, "ran": False}, path
    tab.goto("/people/")
    tab.shot("list-people-xss-corpus")
