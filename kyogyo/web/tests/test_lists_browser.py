"""The lists in a real browser, in both languages: people, companies, deals and handoffs
(with data and empty), a filter chosen in the form, a bad filter said in words, a saved
view, a bulk action's confirmation and its outcome, search results and a denial — each
screenshotted, with no CSP violation, no script error and no untranslated Japanese."""

from __future__ import annotations

import pytest
from django.utils import timezone

from kyogyo.customers.models import Contact
from kyogyo.deals.models import Deal, PipelineStage
from kyogyo.handoffs.models import Handoff
from kyogyo.web.models import SavedView

LANGUAGES = ["en", "ja"]


@pytest.fixture
def record(people, make_contact, walk):
    """A few people (two waiting as MQLs in Inside Sales' queue), their companies and a deal."""
    now = timezone.now()
    made = []
    for first, last in (("Hanako", "Yamada"), ("Taro", "Suzuki"), ("Jiro", "Sato")):
        made.append(
            make_contact(first_name=first, last_name=last, at=now, owner=people.marketer, source="web")
        )
    for contact in made[:2]:
        walk(contact, [("mql", now)])
    Deal.objects.create(
        name="Yamada Shoji renewal",
        account=made[0].account,
        contact=made[0],
        amount=1_200_000,
        pipeline_stage=PipelineStage.objects.filter(is_won=False, is_lost=False).first(),
        owner=people.fs_rep,
        created_at=now,
    )
    return made


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_list_with_rows(browse, people, record, language):
    tab = browse(people.manager, language=language)
    for path, name in (
        ("/people/", "people"),
        ("/companies/", "companies"),
        ("/deals/", "deals"),
        ("/handoffs/", "handoffs"),
    ):
        tab.goto(path)
        assert tab.page.locator("table.list tbody tr").count() >= 1
        tab.shot(f"list-{name}")
        if language == "ja":
            tab.assert_translated()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_list_empty(browse, people, language):
    tab = browse(people.is_rep, language=language)
    for path, name in (
        ("/people/", "people"),
        ("/companies/", "companies"),
        ("/deals/", "deals"),
        ("/handoffs/", "handoffs"),
    ):
        tab.goto(path)
        assert tab.page.locator(".empty").is_visible()
        tab.shot(f"list-{name}-empty")
        if language == "ja":
            tab.assert_translated()


@pytest.mark.parametrize("language", LANGUAGES)
def test_filtering_saving_a_view_and_a_bad_filter(browse, people, record, language):
    tab = browse(people.marketer, language=language)
    tab.goto("/people/")
    tab.page.select_option("#filter-stage", "mql")  # data-autosubmit
    tab.page.wait_for_url("**stage=mql**")
    assert tab.page.locator("table.list tbody tr").count() == 2
    tab.shot("list-people-filtered")
    if language == "ja":
        tab.assert_translated()
    tab.page.locator("details.save-view summary").click()
    tab.page.fill("#save-view-name", "MQL")
    tab.page.locator("details.save-view button[type=submit]").click()
    tab.page.wait_for_load_state("load")
    assert tab.page.locator(".saved-view-list a", has_text="MQL").is_visible()
    assert SavedView.objects.filter(owner=people.marketer, query__contains="stage=mql").exists()
    tab.shot("list-people-saved-view")
    tab.goto("/people/?stage=nowhere&created_from=yesterday")
    assert tab.page.locator(".problems li").count() == 2
    tab.shot("list-people-bad-filter")
    if language == "ja":
        tab.assert_translated(allowed=frozenset({"nowhere", "yesterday"}))  # the reader's own input, echoed


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_bulk_action_is_confirmed_then_reported(browse, people, record, language):
    tab = browse(people.marketer, language=language)
    tab.goto("/people/?sort=oldest")
    tab.page.locator("input[data-select-all]").check()
    tab.page.select_option("#bulk-action", "assign")
    assert tab.page.locator("#bulk-verdict").is_hidden()  # only the chosen action's fields
    tab.page.select_option("#bulk-owner", str(people.is_rep.pk))
    tab.page.locator("form.bulk button[type=submit]").click()
    tab.page.wait_for_load_state("load")
    assert tab.page.locator(".bulk-count").is_visible()
    tab.shot("list-people-bulk-confirm")
    if language == "ja":
        tab.assert_translated()
    tab.page.on("dialog", lambda dialog: dialog.accept())  # data-confirm
    tab.page.locator("main form button.primary").click()
    tab.page.wait_for_load_state("load")
    assert tab.page.locator(".bulk-done").is_visible()
    tab.shot("list-people-bulk-done")
    if language == "ja":
        tab.assert_translated()
    assert Contact.objects.filter(owner=people.is_rep).count() == 3


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_refused_bulk_action_lists_the_rows(browse, people, record, language):
    tab = browse(people.fs_rep, language=language)  # Field Sales may not accept Inside Sales' handoffs
    tab.goto("/handoffs/")
    tab.page.locator("input[data-select-all]").check()
    tab.page.select_option("#bulk-action", "accept")
    tab.page.locator("form.bulk button[type=submit]").click()
    tab.page.wait_for_load_state("load")
    tab.shot("list-handoffs-bulk-confirm")
    tab.page.on("dialog", lambda dialog: dialog.accept())
    tab.page.locator("main form button.primary").click()
    tab.page.wait_for_load_state("load")
    assert tab.page.locator("table.refused tbody tr").count() == 2
    tab.shot("list-handoffs-bulk-refused")
    if language == "ja":
        tab.assert_translated()
    assert Handoff.objects.filter(status=Handoff.Status.OPEN).count() == 2


@pytest.mark.parametrize("language", LANGUAGES)
def test_search_from_the_header(browse, people, record, language):
    tab = browse(people.is_rep, language=language)
    tab.page.fill("#header-search", "yamada")
    tab.page.press("#header-search", "Enter")
    tab.page.wait_for_url("**/search/?q=yamada")
    assert tab.page.locator(".search-results a", has_text="Yamada Shoji renewal").is_visible()
    tab.shot("search-results")
    if language == "ja":
        tab.assert_translated()
    tab.goto("/search/?q=zzzz")
    assert tab.page.locator(".empty").is_visible()
    tab.shot("search-nothing")
    if language == "ja":
        tab.assert_translated()


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_outsider_is_shown_the_403_page(browse, people, language):
    tab = browse(people.outsider, language=language)
    response = tab.goto("/people/")
    assert response.status == 403
    assert tab.page.locator(".denied").is_visible()
    tab.shot("list-people-denied")
    if language == "ja":
        tab.assert_translated()
