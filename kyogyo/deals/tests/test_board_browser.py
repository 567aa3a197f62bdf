"""The pipeline board and the deal page in a real browser, in both languages: drag a card
with the mouse and see it land and the totals change; a refused drag shows the reason and
the card returns; the keyboard way (menu and button); win and lose from the board through
their dialogs; the deal page with its conflict view, validation errors and a denial — with
no CSP violation, no script error, and no untranslated Japanese."""

from __future__ import annotations

import pytest

from kyogyo.deals.actions import move_deal
from kyogyo.deals.models import Deal, PipelineStage

LANGUAGES = ["en", "ja"]


def card(tab, deal):
    return tab.page.locator(f"#deal-{deal.pk}")


def in_column(tab, key: str, deal) -> bool:
    return tab.page.locator(f'.column[data-stage="{key}"] #deal-{deal.pk}').count() == 1


def total(tab, key: str, name: str) -> str:
    return tab.page.locator(f'.column[data-stage="{key}"] [data-total="{name}"]').inner_text()


@pytest.fixture
def three(deal_in, people):
    PipelineStage.objects.filter(key="discovery").update(stall_days=14)
    return (
        deal_in("discovery", amount=1_000_000, days=20, name="Stalled pilot", owner=people.fs_rep),
        deal_in("discovery", amount=2_000_000, days=2, name="Fresh pilot", owner=people.fs_rep),
        deal_in("proposal", amount=3_000_000, days=5, name="Big rollout", owner=people.fs_rep),
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_drag_a_card_to_another_column(browse, people, three, language):
    stalled, _, _ = three
    tab = browse(people.fs_rep, language=language)
    tab.goto("/pipeline/")
    tab.shot("pipeline")
    if language == "ja":
        tab.assert_translated()
    assert total(tab, "discovery", "amount") == "¥3,000,000"
    card(tab, stalled).drag_to(tab.page.locator('.column[data-stage="negotiation"]'))
    tab.page.wait_for_function(
        "() => document.querySelector('.column[data-stage=\"negotiation\"] [data-total=\"count\"]').textContent === '1'"
    )
    assert in_column(tab, "negotiation", stalled)
    assert total(tab, "discovery", "amount") == "¥2,000,000"
    assert total(tab, "discovery", "stalled") == "0"
    assert total(tab, "negotiation", "amount") == "¥1,000,000"
    assert card(tab, stalled).locator(".flag").count() == 0
    assert Deal.objects.get(pk=stalled.pk).pipeline_stage.key == "negotiation"
    tab.shot("pipeline-after-drag")


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_refused_drag_shows_the_reason_and_the_card_returns(browse, people, three, language):
    _, fresh, _ = three
    tab = browse(people.fs_rep, language=language)
    tab.goto("/pipeline/")
    move_deal(fresh, PipelineStage.objects.get(key="solution"), actor=people.fs_rep2)  # meanwhile
    card(tab, fresh).drag_to(tab.page.locator('.column[data-stage="proposal"]'))
    error = card(tab, fresh).locator(".card-error")
    error.wait_for(state="visible")
    expected = "while you were editing" if language == "en" else "編集中"
    assert expected in error.inner_text()
    assert in_column(tab, "discovery", fresh)  # back where it was on this board
    assert total(tab, "proposal", "count") == "1"
    assert Deal.objects.get(pk=fresh.pk).pipeline_stage.key == "solution"
    tab.shot("pipeline-refused-move")
    if language == "ja":
        tab.assert_translated()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_keyboard_way_moves_a_card(browse, people, three, language):
    _, fresh, _ = three
    tab = browse(people.fs_rep, language=language)
    tab.goto("/pipeline/")
    menu = card(tab, fresh).locator("select[name=stage]")
    menu.focus()
    menu.select_option("solution")
    tab.page.keyboard.press("Tab")  # to the Move button
    tab.page.keyboard.press("Enter")
    tab.page.wait_for_function(
        "() => document.querySelector('.column[data-stage=\"solution\"] [data-total=\"count\"]').textContent === '1'"
    )
    assert in_column(tab, "solution", fresh)
    assert Deal.objects.get(pk=fresh.pk).pipeline_stage.key == "solution"


@pytest.mark.parametrize("language", LANGUAGES)
def test_win_and_lose_from_the_board(browse, people, three, language):
    _, fresh, big = three
    tab = browse(people.fs_rep, language=language)
    tab.goto("/pipeline/")
    card(tab, big).drag_to(tab.page.locator('.column[data-kind="won"]'))
    dialog = tab.page.locator("#win-dialog")
    dialog.wait_for(state="visible")
    tab.shot("pipeline-win-dialog")
    dialog.locator("button[type=submit]").click()
    dialog.wait_for(state="hidden")
    assert card(tab, big).count() == 0
    assert total(tab, "closed_won", "amount") == "¥3,000,000"
    assert Deal.objects.get(pk=big.pk).status == Deal.Status.WON

    card(tab, fresh).drag_to(tab.page.locator('.column[data-kind="lost"]'))
    dialog = tab.page.locator("#lose-dialog")
    dialog.wait_for(state="visible")
    dialog.locator("select[name=reason]").select_option("no_decision")
    dialog.locator("textarea[name=note]").fill("No budget this year")
    tab.shot("pipeline-lose-dialog")
    if language == "ja":
        tab.assert_translated()
    dialog.locator("button[type=submit]").click()
    dialog.wait_for(state="hidden")
    assert total(tab, "closed_lost", "count") == "1"
    lost = Deal.objects.get(pk=fresh.pk)
    assert (lost.status, lost.loss_reason.key) == ("lost", "no_decision")


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_win_the_journey_refuses_says_why(browse, people, deal_in, language):
    waiting = deal_in("negotiation", accepted=False, name="Not accepted yet", owner=people.fs_rep)
    tab = browse(people.fs_rep, language=language)
    tab.goto("/pipeline/")
    menu = card(tab, waiting).locator("select[name=stage]")
    menu.select_option("closed_won")
    card(tab, waiting).locator("form.move button").click()
    dialog = tab.page.locator("#win-dialog")
    dialog.wait_for(state="visible")
    dialog.locator("button[type=submit]").click()
    error = dialog.locator(".error")
    error.wait_for(state="visible")
    assert ("open handoff" if language == "en" else "引き継ぎ") in error.inner_text()
    dialog.locator("[data-cancel]").click()
    assert in_column(tab, "negotiation", waiting)
    assert Deal.objects.get(pk=waiting.pk).status == Deal.Status.OPEN


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_empty_board_and_a_denial(browse, people, language):
    tab = browse(people.fs_rep, language=language)
    tab.goto("/pipeline/")
    assert tab.page.locator(".column-empty").count() == 4
    tab.shot("pipeline-empty")
    if language == "ja":
        tab.assert_translated()
    outsider = browse(people.outsider, language=language)
    assert outsider.goto("/pipeline/").status == 403
    outsider.shot("pipeline-denied")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_deal_page_conflict_and_validation(browse, people, three, language):
    stalled, _, _ = three
    stalled = move_deal(stalled, PipelineStage.objects.get(key="solution"), actor=people.fs_rep)
    tab = browse(people.fs_rep, language=language)
    tab.goto(f"/deals/{stalled.pk}/")
    tab.shot("deal")
    if language == "ja":
        tab.assert_translated()
    # someone else saves while this page is open
    other = browse(people.manager, language=language)
    other.goto(f"/deals/{stalled.pk}/")
    other.page.fill("#id_amount", "4500000")
    other.page.click(".deal-form button[type=submit]")
    other.page.wait_for_load_state("load")
    tab.page.fill("#id_name", "Stalled pilot (renamed)")
    tab.page.click(".deal-form button[type=submit]")
    tab.page.wait_for_load_state("load")
    conflict = tab.page.locator(".conflict")
    assert conflict.is_visible()
    assert "¥4,500,000" in conflict.inner_text()
    assert tab.page.input_value("#id_name") == "Stalled pilot (renamed)"  # nothing typed is lost
    tab.shot("deal-conflict")
    if language == "ja":
        tab.assert_translated()
    tab.page.fill("#id_amount", "-5")
    tab.page.click(".deal-form button[type=submit]")
    tab.page.wait_for_load_state("load")
    assert tab.page.locator(".field.invalid").count() == 1
    tab.shot("deal-invalid")
    if language == "ja":
        tab.assert_translated()
