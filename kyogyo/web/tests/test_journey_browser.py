"""The whole journey through the web app, in both languages, as the four teams live it:
a website form fill creates a lead → the rules make them an MQL → the inside-sales rep
accepts the handoff from the home queue → moves them to SQL on their page → the
field-sales rep accepts and wins the deal → Customer Success accepts the new customer,
finds them on /success/ among the new customers without a subscription, starts it from the
form prefilled with the deal (¥1,200,000 a year → ¥100,000 MRR), and the customer appears in
Customer Success (their subscription, the renewals, the MRR) → The Model dashboard's numbers
move by one and drill down to that person."""

from __future__ import annotations

import pytest

from kyogyo.customers.models import Contact
from kyogyo.handoffs.models import Handoff

ORIGIN = "https://www.example.jp"
FISCAL = frozenset({"FY"})
# The names this test stores are data, shown inside sentences (a message, the page title)
NAMES = frozenset({"Hanako", "Sato", "Acme", "KK", "Kyogyo"})


@pytest.fixture
def website_form(defaults):
    from kyogyo.intake.actions import create_form
    from kyogyo.scoring.models import EngagementWeight

    # The company counts a whitepaper download as a strong signal: one makes an MQL of a
    # person who fits.
    EngagementWeight.objects.update_or_create(activity_type="content_download", defaults={"points": 40})
    return create_form(
        "whitepaper",
        name="Whitepaper download",
        allowed_origins=[ORIGIN],
        field_map={
            "email": "email",
            "first_name": "first_name",
            "last_name": "last_name",
            "company": "account.name",
            "title": "title",
            "employees": "account.employee_count",
            "industry": "account.industry",
            "country": "account.country",
        },
        required=["email", "company"],
        activity_type="content_download",
        consent_wording="製品情報をメールで受け取ることに同意します。",
        rate_limit=50,
        rate_window=1_000_000_000,
    )


def accept_from_home(tab, handoff: Handoff) -> None:
    tab.goto("/")
    row = tab.page.locator(f"#handoff-{handoff.pk}")
    row.wait_for()
    row.locator("button.primary").click()
    tab.page.locator(f"#handoff-{handoff.pk}.done").wait_for()


def open_handoff(contact: Contact) -> Handoff:
    return Handoff.objects.get(subject=contact, status=Handoff.Status.OPEN)


@pytest.mark.parametrize("language", ["en", "ja"])
def test_a_form_fill_becomes_a_customer_and_the_dashboard_shows_it(
    browse, people, website_form, analytics, language
):
    analytics()  # the dashboard's numbers before
    visitor = browse(language=language)
    response = visitor.page.request.post(
        visitor.base_url + "/intake/forms/whitepaper",
        form={
            "email": "hanako.sato@acme.co.jp",
            "first_name": "Hanako",
            "last_name": "Sato",
            "company": "Acme KK",
            "title": "IT Manager",
            "employees": "300-999",
            "industry": "software",
            "country": "jp",
            "consent": "on",
        },
        headers={"Origin": ORIGIN},
    )
    assert response.status in (200, 201, 303), response.text()
    contact = Contact.objects.get(email="hanako.sato@acme.co.jp")
    assert contact.milestone.current_stage.key == "mql"  # by rule, at once

    # Inside sales: the handoff waits in the rep's queue; one click accepts it (SAL).
    inside = browse(people.is_rep, language=language)
    accept_from_home(inside, open_handoff(contact))
    inside.shot("journey-is-accepted")
    contact.refresh_from_db()
    assert contact.milestone.current_stage.key == "sal"

    # On the person's page the rep qualifies them: SQL, handed to field sales.
    inside.goto(f"/people/{contact.pk}/")
    inside.page.fill("#deal-amount", "1200000")
    inside.page.locator("form.qualify-form button.primary").click()
    inside.page.wait_for_load_state("load")
    inside.shot("journey-sql")
    if language == "ja":
        inside.assert_translated(FISCAL | NAMES)
    contact.refresh_from_db()
    assert contact.milestone.current_stage.key == "sql"

    # Field sales accepts (opportunity) and wins the deal.
    field = browse(people.fs_rep, language=language)
    accept_from_home(field, open_handoff(contact))
    contact.refresh_from_db()
    assert contact.milestone.current_stage.key == "opportunity"
    win_the_deal(field, contact)
    contact.refresh_from_db()
    assert contact.milestone.current_stage.key in ("won", "onboarding")

    # Customer success takes the new customer over and sees them.
    success = browse(people.csm, language=language)
    handoff = Handoff.objects.filter(subject=contact, status=Handoff.Status.OPEN).first()
    if handoff is not None:
        accept_from_home(success, handoff)
    see_in_customer_success(success, contact)
    start_the_subscription(success, contact, language)
    analytics()  # the figures of /success/ come from the analytics snapshot
    see_them_counted(success, contact, language)

    # The Model: the won number moved by one and drills down to Hanako.
    analytics()
    manager = browse(people.manager, language=language)
    manager.goto("/model/?period=FY2026")
    manager.page.wait_for_selector("[data-chart] .main-svg")
    manager.shot("journey-dashboard")
    won = manager.page.locator("a[href*='/model/records/'][href*='stage=won']").first
    won.click()
    manager.page.wait_for_url("**/model/records/**")
    assert manager.page.locator(f"a[href='/people/{contact.pk}/']").count() >= 1
    manager.shot("journey-drilldown")
    if language == "ja":
        manager.assert_translated(FISCAL | NAMES)


def win_the_deal(tab, contact: Contact) -> None:
    from kyogyo.deals.models import Deal

    deal = Deal.objects.get(contact=contact)
    tab.goto(f"/deals/{deal.pk}/")
    tab.page.once("dialog", lambda dialog: dialog.accept())  # "Mark this deal as won?"
    tab.page.locator(f"form[action='/deals/{deal.pk}/win'] button[type=submit]").click()
    tab.page.wait_for_load_state("load")
    tab.shot("journey-won")


def see_in_customer_success(tab, contact: Contact) -> None:
    """The new customer is Customer Success's now: onboarding, on their page."""
    tab.goto(f"/people/{contact.pk}/")
    tab.shot("journey-success-person")
    contact.refresh_from_db()
    assert contact.milestone.current_stage.key == "onboarding"
    tab.goto("/success/")
    tab.shot("journey-success")


def start_the_subscription(tab, contact: Contact, language: str) -> None:
    """On /success/ the new customer waits without a subscription; the CSM opens the row's
    form (the MRR already a twelfth of the deal), names the plan and starts it."""
    from kyogyo.success.models import Subscription

    row = tab.page.locator(f"#new-customer-{contact.pk}")
    row.wait_for()
    assert "Acme KK" in row.inner_text()
    row.locator("details.start-subscription summary").click()
    assert row.locator("input[name=mrr]").input_value() == "100000"
    assert row.locator("input[name=currency]").input_value() == "JPY"
    tab.shot("journey-success-start")
    if language == "ja":
        tab.assert_translated(FISCAL | NAMES)
    row.locator("input[name=plan]").fill("Kyogyo Business")
    row.locator("button[type=submit]").click()
    subscription = Subscription.objects.get(account_id=contact.account_id)
    tab.page.wait_for_url(f"**/success/subscriptions/{subscription.pk}/")
    tab.page.locator(".messages .message").wait_for()
    tab.shot("journey-success-subscription")
    if language == "ja":
        tab.assert_translated(FISCAL | NAMES | {"Kyogyo Business"})
    assert (subscription.plan, subscription.mrr, subscription.deal.contact_id) == (
        "Kyogyo Business",
        100_000,
        contact.pk,
    )


def see_them_counted(tab, contact: Contact, language: str) -> None:
    """The customer is in Customer Success now: off the new-customer list, in the MRR, among
    the renewals (monthly: within the month) and scored on the churn-risk list."""
    tab.goto("/success/")
    assert tab.page.locator(f"#new-customer-{contact.pk}").count() == 0
    assert "¥100,000" in tab.page.locator(".kpis").inner_text()  # MRR now
    tab.shot("journey-success-counted")
    tab.goto("/success/renewals/")
    assert "Acme KK" in tab.page.locator("table.renewals").inner_text()
    tab.goto("/success/risk/")
    assert "Acme KK" in tab.page.locator("table.risk").inner_text()
    if language == "ja":
        tab.assert_translated(FISCAL | NAMES)
