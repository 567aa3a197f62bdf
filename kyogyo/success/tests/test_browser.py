"""The Customer Success pages in a real browser, in both languages: the MRR chart drawn and a
bar opening its movements (drill-down), every page with a screenshot, the empty state, a form
refusing bad input, an expansion handed back, and a denial — no CSP violation, no script
error, no English left on the Japanese pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kyogyo.success.models import ExpansionHandback

LANGUAGES = ["en", "ja"]


def check(tab, name: str) -> None:
    tab.shot(name)
    if tab.language == "ja":
        tab.assert_translated()


@pytest.mark.parametrize("language", LANGUAGES)
def test_overview_chart_draws_and_drills_down(browse, book, language):
    tab = browse(book.people.csm, language=language)
    tab.goto(reverse("success:home"))
    tab.page.wait_for_selector("[data-chart] .main-svg")
    check(tab, "success-home")
    month = f"{book.last_month:%Y-%m}"
    months = tab.page.evaluate("JSON.parse(document.getElementById('mrr-chart').textContent).data[1].x")
    bar = tab.page.locator("[data-chart] g.trace.bars").nth(1).locator(".point").nth(months.index(month))
    box = bar.bounding_box()
    tab.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tab.page.wait_for_url("**/success/movements/?*kind=expansion*")
    assert "Alpha KK" in tab.page.content()
    check(tab, "success-movements")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_list_page(browse, book, language):
    tab = browse(book.people.csm, language=language)
    for name, shot in (
        ("success:renewals", "success-renewals"),
        ("success:risk", "success-risk"),
        ("success:nps", "success-nps"),
    ):
        tab.goto(reverse(name))
        check(tab, shot)
    tab.goto(reverse("success:renewals") + "?grain=week&days=366")
    check(tab, "success-renewals-weeks")
    tab.goto(reverse("success:nps") + "?category=detractor")
    assert "Too slow" in tab.page.content() and "Great support" not in tab.page.content()
    check(tab, "success-nps-detractors")


@pytest.mark.parametrize("language", LANGUAGES)
def test_subscription_page_refuses_bad_input_and_changes_mrr(browse, book, language):
    tab = browse(book.people.csm, language=language)
    tab.goto(reverse("success:subscription", args=[book.c.pk]))
    tab.page.wait_for_selector("[data-chart] .main-svg")
    check(tab, "success-subscription")
    form = tab.page.locator(f"form[action='{reverse('success:change_mrr', args=[book.c.pk])}']")
    form.locator("input[name=mrr]").fill("40000")  # unchanged: refused by the action
    form.locator("button").click()
    tab.page.locator(".messages .error").wait_for()
    check(tab, "success-subscription-refused")
    form = tab.page.locator(f"form[action='{reverse('success:change_mrr', args=[book.c.pk])}']")
    form.locator("input[name=mrr]").fill("45000")
    form.locator("button").click()
    tab.page.locator(".messages .message").wait_for()
    book.c.refresh_from_db()
    assert book.c.mrr == 45_000


@pytest.mark.parametrize("language", LANGUAGES)
def test_hand_back_validation(browse, book, language):
    tab = browse(book.people.csm, language=language)
    tab.goto(reverse("success:subscription", args=[book.a.pk]))
    form = tab.page.locator(f"form[action='{reverse('success:hand_back', args=[book.a.pk])}']")
    form.locator("input[name=expansion-amount]").fill("-5")
    form.locator("textarea[name=expansion-note]").fill("More seats")
    form.locator("button").click()
    tab.page.locator(".field.invalid").first.wait_for()
    check(tab, "success-hand-back-invalid")
    assert not ExpansionHandback.objects.exists()


@pytest.mark.parametrize("language", LANGUAGES)
def test_empty_state_and_denial(browse, people, language):
    tab = browse(people.csm, language=language)
    tab.goto(reverse("success:home"))
    assert tab.page.locator(".empty").first.is_visible()
    check(tab, "success-empty")
    tab = browse(people.outsider, language=language)
    response = tab.goto(reverse("success:home"))
    assert response.status == 403
    assert tab.page.locator(".denied").is_visible()
    check(tab, "success-denied")


@pytest.mark.parametrize("language", LANGUAGES)
def test_new_customers_refuse_bad_input_and_start(browse, people, language):
    from kyogyo.success.models import Subscription
    from kyogyo.success.tests.new_customers import new_customer

    contact = new_customer(people, company="Acme KK")
    waiting = new_customer(people, company="Beta KK", accepted=False)
    tab = browse(people.csm, language=language)
    tab.goto(reverse("success:onboarding"))
    assert tab.page.locator("table.new-customers tbody tr").count() == 2
    check(tab, "success-new-customers")
    row = tab.page.locator(f"#new-customer-{contact.pk}")
    row.locator("summary").click()
    row.locator("input[name=mrr]").fill("0")
    row.locator("button[type=submit]").click()
    tab.page.locator(".field.invalid").first.wait_for()  # the start page, with what was typed
    check(tab, "success-start-invalid")
    form = tab.page.locator("form.start-form")
    form.locator("input[name=plan]").fill("Business")
    form.locator("input[name=mrr]").fill("90000")
    form.locator("button[type=submit]").click()
    tab.page.locator(".messages .message").wait_for()
    assert Subscription.objects.get(account=contact.account).mrr == 90_000
    tab.goto(reverse("success:onboarding"))
    assert tab.page.locator(f"#new-customer-{contact.pk}").count() == 0
    assert tab.page.locator(f"#new-customer-{waiting.pk}").is_visible()
    tab.goto("/")
    assert tab.page.locator(f"#new-customers #new-customer-{waiting.pk}").is_visible()
    check(tab, "success-cs-home-new-customers")
    other = browse(people.fs_rep, language=language)
    response = other.goto(reverse("success:start_subscription", args=[waiting.pk]))
    assert response.status == 403
    check(other, "success-start-denied")
