"""Stored text on the board and the deal page is shown as text: the XSS corpus in deal names,
next steps, company and people's names, owners' names, stage names and loss reasons (and
the loss note) renders inert — in the HTML of both pages, in both languages, and in the
browser (no corpus element in the DOM, no script ran)."""

from __future__ import annotations

import re

import pytest

from kyogyo.deals.actions import lose_deal
from kyogyo.deals.models import Deal, PipelineStage
from kyogyo.journey.models import ReasonCode
from kyogyo.web.xss_corpus import MARKER_CHECK, payloads, unescaped_markup

CORPUS = payloads()


def markup_outside_values(html: str) -> list[str]:
    """Corpus tags that reached the page as markup. The edit form holds the stored text in
    its inputs' (escaped, quoted) value attributes, which the tag pattern would count."""
    return unescaped_markup(re.sub(r'value="[^"]*"', 'value=""', html))


@pytest.fixture
def poisoned(people, deal_in):
    words = iter(CORPUS)
    deals = []
    for key in ("discovery", "solution", "proposal", "negotiation") * 4:
        deal = deal_in(key, name=next(words)[:200], owner=people.fs_rep, first_name=next(words)[:100])
        Deal.objects.filter(pk=deal.pk).update(next_step=next(words)[:200])
        deal.account.name = next(words)[:200]
        deal.account.save(update_fields=["name"])
        deals.append(deal)
    people.fs_rep.first_name, people.fs_rep.last_name = next(words)[:150], next(words)[:150]
    people.fs_rep.save()
    for stage in PipelineStage.objects.all():
        stage.name, stage.name_ja = next(words)[:100], next(words)[:100]
        stage.save()
    for reason in ReasonCode.objects.filter(kind=ReasonCode.Kind.LOSS):
        reason.label, reason.label_ja = next(words)[:150], next(words)[:150]
        reason.save()
    lost = deals.pop()
    lose_deal(
        lost, actor=people.fs_rep, reason=ReasonCode.objects.filter(kind="loss").first(), note=next(words)
    )
    return deals


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_board_and_the_deal_page_show_the_corpus_as_text(client, people, poisoned, language):
    people.fs_rep.language = language
    people.fs_rep.save()
    client.force_login(people.fs_rep)
    for path in ["/pipeline/", "/pipeline/?stage=discovery", f"/deals/{poisoned[0].pk}/"]:
        html = client.get(path).content.decode()
        assert html.count("&lt;") > 10, path
        assert markup_outside_values(html) == [], path
        assert 'value="&lt;' in html or path != f"/deals/{poisoned[0].pk}/"


def test_the_corpus_is_inert_in_the_browser(browse, people, poisoned):
    tab = browse(people.fs_rep, language="ja")
    for path, name in (
        ("/pipeline/", "pipeline-xss-corpus"),
        (f"/deals/{poisoned[0].pk}/", "deal-xss-corpus"),
    ):
        tab.goto(path)
        assert tab.page.evaluate(MARKER_CHECK) == {"elements": 0, "ran": False}
        tab.shot(name)
