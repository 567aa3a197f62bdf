"""The Model's pages in a real browser, in both languages: the dashboard (a click on a funnel
bar opens the people behind it), the weekly review, planning with two scenarios, a
validation error, empty states and a permission denial — no CSP violation, no script error,
no untranslated Japanese; a screenshot of each."""

from __future__ import annotations

import datetime as dt

import pytest

from kyogyo.testing import T0

DAY = dt.timedelta(days=1)
FISCAL = frozenset({"FY"})  # FY2026, FY2026-Q1: what people type, in Japanese too


@pytest.fixture
def journeys(people, make_contact, walk, analytics):
    a = walk(
        make_contact(at=T0, first_name="Aiko", last_name="Sato", source="web"),
        [("mql", T0 + DAY), ("sal", T0 + 2 * DAY), ("sql", T0 + 5 * DAY), ("opportunity", T0 + 6 * DAY)],
    )
    walk(
        make_contact(at=T0, first_name="Ben", last_name="Ito", source="web"),
        [("mql", T0 + 3 * DAY), ("reject:no_need_now", T0 + 4 * DAY), ("mql", T0 + 20 * DAY)],
    )
    make_contact(at=T0, first_name="Chie", last_name="Kato", source="event")
    analytics()
    return a


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_dashboard_and_a_drill_down_from_the_funnel(browse, people, journeys, language):
    tab = browse(people.manager, language=language)
    tab.goto("/model/?period=FY2026")
    tab.page.wait_for_selector("[data-chart] .main-svg")
    tab.shot("model-dashboard")
    if language == "ja":
        tab.assert_translated(FISCAL)
    bar = tab.page.locator("[data-chart] .point").nth(0).bounding_box()  # lead: 3 people
    tab.page.mouse.click(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2)
    tab.page.wait_for_url("**/model/records/**")
    assert tab.page.locator("table.records-list tbody tr").count() == 3
    tab.shot("model-drilldown")
    if language == "ja":
        tab.assert_translated(FISCAL)


@pytest.mark.parametrize("language", ["en", "ja"])
def test_a_bad_date_is_a_message(browse, people, journeys, language):
    tab = browse(people.is_rep, language=language)
    tab.goto("/model/?start=2026-02-30")
    assert tab.page.locator(".field.invalid .error").is_visible()
    tab.shot("model-bad-date")
    if language == "ja":
        tab.assert_translated(FISCAL)


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_weekly_review(browse, people, journeys, language):
    tab = browse(people.manager, language=language)
    tab.goto("/model/review/?week=2026-04-06")
    assert tab.page.locator("#changes tbody tr").count() > 5
    tab.shot("model-review")
    if language == "ja":
        tab.assert_translated(FISCAL)


@pytest.mark.parametrize("language", ["en", "ja"])
def test_planning_with_two_scenarios_then_saving(browse, people, journeys, language):
    tab = browse(people.manager, language=language)
    tab.goto("/plans/")
    tab.shot("plans-empty")
    if language == "ja":
        tab.assert_translated(FISCAL)
    tab.goto("/plans/new/")
    page = tab.page
    for prefix, size in (("a", "100000"), ("b", "300000")):
        page.fill(f"#id_{prefix}-target", "12,000,000")
        page.fill(f"#id_{prefix}-period", "FY2026")
        page.fill(f"#id_{prefix}-deal_size", size)
        page.locator(f"#scenario-{prefix} details summary").click()
        for step in ("lead__mql", "mql__sal", "sal__sql", "sql__opportunity", "opportunity__won"):
            page.fill(f"#id_{prefix}-rate_{step}", "50%")
    page.fill("#id_a-name", "FY2026 plan")
    page.click("#compute")
    page.wait_for_load_state("load")
    assert (
        page.locator("#scenario-a table.plan").is_visible()
        and page.locator("#scenario-b table.plan").is_visible()
    )
    tab.shot("plans-two-scenarios")
    if language == "ja":
        tab.assert_translated(FISCAL)
    page.locator("#scenario-a button[name=save]").click()
    page.wait_for_url("**/plans/*/")
    page.wait_for_selector("[data-chart] .main-svg")
    tab.shot("plan-vs-actual")
    if language == "ja":
        tab.assert_translated(FISCAL)


@pytest.mark.parametrize("language", ["en", "ja"])
def test_a_scenario_with_a_bad_target_says_so(browse, people, journeys, language):
    tab = browse(people.is_rep, language=language)
    tab.goto("/plans/new/")
    tab.page.fill("#id_a-target", "a lot")
    tab.page.fill("#id_a-period", "FY2026")
    tab.page.click("#compute")
    tab.page.wait_for_load_state("load")
    assert tab.page.locator("#scenario-a .field.invalid .error").is_visible()
    tab.shot("plans-bad-target")
    if language == "ja":
        tab.assert_translated(FISCAL)


@pytest.mark.parametrize("language", ["en", "ja"])
def test_an_empty_drill_down_and_a_denial(browse, people, journeys, language):
    tab = browse(people.marketer, language=language)
    tab.goto("/model/records/?period=FY2026&metric=deals&measure=won")
    assert tab.page.locator(".empty").is_visible()
    tab.shot("model-drilldown-empty")
    if language == "ja":
        tab.assert_translated(FISCAL)
    outsider = browse(people.outsider, language=language)
    response = outsider.goto("/model/")
    assert response.status == 403
    outsider.shot("model-denied")
    if language == "ja":
        outsider.assert_translated(FISCAL)


@pytest.mark.parametrize("language", ["en", "ja"])
def test_my_kpis_on_the_home_page(browse, people, journeys, language):
    tab = browse(people.is_rep, language=language)
    assert tab.page.locator(".my-kpis table").is_visible()
    tab.shot("home-my-kpis")
    if language == "ja":
        tab.assert_translated(FISCAL)
