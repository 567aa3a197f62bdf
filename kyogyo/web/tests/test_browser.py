"""The layout in a real browser (chromium through Playwright), in both languages: sign-in,
the home queue (accept in one click, reject with a reason in two), the language switch,
preferences — with no CSP violation, no script error, and no untranslated Japanese."""

from __future__ import annotations

import pytest
from django.utils import timezone

from kyogyo.handoffs.models import Handoff


@pytest.fixture
def two_waiting(people, make_contact, walk):
    handoffs = []
    for first, last in (("Hanako", "Yamada"), ("Taro", "Suzuki")):
        contact = make_contact(first_name=first, last_name=last, at=timezone.now())
        walk(contact, [("mql", timezone.now())])
        handoffs.append(Handoff.objects.get(subject=contact, status=Handoff.Status.OPEN))
    Handoff.objects.filter(pk__in=[h.pk for h in handoffs]).update(
        assigned_to=people.is_rep
    )  # not round-robin
    return handoffs


@pytest.mark.parametrize("language", ["en", "ja"])
def test_sign_in_page(browse, db, language):
    tab = browse(language=language)
    tab.goto("/")
    assert "/login/" in tab.page.url
    tab.shot("login")
    if language == "ja":
        tab.assert_translated()


def test_wrong_password_is_said_clearly(browse, people):
    tab = browse(language="ja")
    tab.goto("/login/")
    tab.page.fill("input[name=username]", "is_rep")
    tab.page.fill("input[name=password]", "wrong")
    tab.page.click("main button[type=submit]")
    tab.page.locator(".errors").wait_for()  # the answer may take a moment on a busy machine
    assert tab.page.locator(".errors").is_visible()
    tab.assert_translated()


@pytest.mark.parametrize("language", ["en", "ja"])
def test_home_queue_accept_and_reject(browse, people, two_waiting, language):
    first, second = two_waiting
    tab = browse(people.is_rep, language=language)
    assert tab.page.locator(f"#handoff-{first.pk}").is_visible()
    tab.shot("home")
    if language == "ja":
        tab.assert_translated()
    tab.page.locator(f"#handoff-{first.pk} button.primary").click()  # one click
    tab.page.locator(f"#handoff-{first.pk}.done").wait_for()
    row = tab.page.locator(f"#handoff-{second.pk}")
    row.locator("select[name=reason]").select_option(index=1)  # two clicks
    row.locator("form.reject button").click()
    tab.page.locator(f"#handoff-{second.pk}.done").wait_for()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Handoff.Status.ACCEPTED
    assert second.status == Handoff.Status.REJECTED and second.reason is not None


def test_language_switch_changes_the_page_and_is_remembered(browse, people):
    tab = browse(people.is_rep, language="en")
    assert "My queue" in tab.page.content()
    tab.page.select_option("#language-switch", "ja")
    tab.page.wait_for_load_state("load")
    tab.page.get_by_text("マイキュー").wait_for()
    people.is_rep.refresh_from_db()
    assert people.is_rep.language == "ja"


@pytest.mark.parametrize("language", ["en", "ja"])
def test_preferences_page(browse, people, language):
    tab = browse(people.is_rep, language=language)
    tab.goto("/me/")
    tab.page.select_option("select[name=time_zone]", "Europe/Berlin")
    tab.page.click("main button[type=submit]")
    tab.page.locator(".messages").wait_for()
    tab.shot("preferences")
    if language == "ja":
        tab.assert_translated()
    people.is_rep.refresh_from_db()
    assert people.is_rep.time_zone == "Europe/Berlin"


def test_members_are_told_settings_are_not_theirs(browse, people):
    tab = browse(people.is_rep, language="ja")
    response = tab.goto("/settings/")
    assert response.status == 403
    assert tab.page.locator(".denied").is_visible()
    tab.assert_translated()
