"""The health-check pages in a real browser, in both languages: the history with its chart,
the fill-in form (and its validation errors), an assessment with its radar, the comparison,
the empty states and a member's denial — each screenshotted, Japanese pages checked for
untranslated text, the charts drawn under the CSP, the notes' XSS corpus inert."""

from __future__ import annotations

import datetime as dt

import pytest

from kyogyo.healthcheck import actions
from kyogyo.web.xss_corpus import MARKER_CHECK, payloads

LANGUAGES = ["en", "ja"]
# Words of the article's own Japanese text (and product names) that stay in Latin letters.
ARTICLE_WORDS = frozenset({"The", "Model", "CRM", "SFA", "PDCA", "SNS", "Net", "Promoter", "Score", "LTV"})


def assessments(people) -> list:
    older = actions.create_assessment(
        actor=people.manager,
        assessed_on=dt.date(2026, 8, 1),
        marks={
            "organisation.four_departments": ("done", ""),
            "kpi.linked": ("not_yet", "前部門のゴールが共有されていない"),
            "data.design": ("partly", ""),
            "customer.satisfaction": ("not_yet", ""),
        },
        summary="四半期レビュー",
    )
    newer = actions.create_assessment(
        actor=people.manager,
        assessed_on=dt.date(2026, 11, 1),
        marks={
            "organisation.four_departments": ("done", ""),
            "kpi.linked": ("partly", payloads()[0]),
            "data.design": ("done", ""),
            "customer.satisfaction": ("partly", "NPS を開始"),
            "leadership.support": ("not_yet", ""),
        },
    )
    return [older, newer]


def check(tab, language: str, name: str) -> None:
    tab.shot(name)
    if language == "ja":
        tab.assert_translated(ARTICLE_WORDS)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_empty_history_and_a_denial(browse, people, language):
    tab = browse(people.manager, language=language)
    tab.goto("/health-check/")
    assert tab.page.locator(".empty").count() == 1
    check(tab, language, "healthcheck-empty")
    tab.goto("/health-check/compare/")
    check(tab, language, "healthcheck-compare-empty")
    member = browse(people.is_rep, language=language)
    response = member.goto("/health-check/new/")
    assert response.status == 403
    member.shot("healthcheck-denied")


@pytest.mark.parametrize("language", LANGUAGES)
def test_fill_in_with_errors_then_save(browse, people, language):
    tab = browse(people.manager, language=language)
    tab.goto("/health-check/new/")
    assert tab.page.locator(".hc-evidence .badge").count() >= 16  # measured from the data
    check(tab, language, "healthcheck-form")
    tab.page.fill("#id_note-kpi\\.linked", "目標が未設定")
    tab.page.locator("form button.primary").click()
    tab.page.wait_for_selector("p.error")
    assert tab.page.locator("#row-kpi\\.linked p.error").count() == 1
    check(tab, language, "healthcheck-form-errors")
    tab.page.locator("#row-kpi\\.linked input[value=not_yet]").check()
    tab.page.locator("#row-organisation\\.cooperation input[value=partly]").check()
    tab.page.locator("form button.primary").click()
    tab.page.wait_for_selector("#radar .main-svg")
    assert "/health-check/" in tab.page.url and "improve-kpi.linked" in tab.page.content()


@pytest.mark.parametrize("language", LANGUAGES)
def test_history_assessment_and_comparison(browse, people, language):
    older, newer = assessments(people)
    tab = browse(people.marketer, language=language)
    tab.goto("/health-check/")
    tab.page.wait_for_selector("#history .main-svg")
    check(tab, language, "healthcheck-list")
    tab.goto(f"/health-check/{newer.pk}/")
    tab.page.wait_for_selector("#radar .main-svg")
    assert tab.page.locator("#radar .scatterlayer .trace").count() == 1
    assert tab.page.evaluate(MARKER_CHECK) == {"elements": 0, "ran": False}
    check(tab, language, "healthcheck-assessment")
    tab.goto(f"/health-check/compare/?a={older.pk}&b={newer.pk}")
    tab.page.wait_for_selector("#radar .main-svg")
    assert tab.page.locator("#radar .scatterlayer .trace").count() == 2
    assert tab.page.locator("#changes tbody tr").count() == 4
    check(tab, language, "healthcheck-compare")
