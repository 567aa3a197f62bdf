"""The person's and company's pages in a real browser, in both languages: rich records,
adding a note with a mention, a refused move with its reason, a stage change denied to
another team, empty states and validation errors — no CSP violation, no script error, no
untranslated Japanese."""

from __future__ import annotations

import pytest
from django.utils import timezone

from kyogyo.customers.models import Contact, Note
from kyogyo.journey.models import Milestone

# The page title is the record's name (data, which no translation check can mark).
NAMES = frozenset({"Yamada", "Hanako", "Tanaka", "Jiro", "Empty", "Person", "Trading", "Company"})


@pytest.mark.parametrize("language", ["en", "ja"])
def test_contact_page(browse, people, story, language):
    tab = browse(people.csm, language=language)
    tab.goto(f"/people/{story.customer.pk}/")
    assert tab.page.locator("#timeline .event").count() > 10
    assert tab.page.locator(".mention").first.inner_text() == "@Keiko Sato"
    tab.shot("contact")
    if language == "ja":
        tab.assert_translated(NAMES)


@pytest.mark.parametrize("language", ["en", "ja"])
def test_account_page(browse, people, story, language):
    tab = browse(people.marketer, language=language)
    tab.goto(f"/companies/{story.account.pk}/")
    assert tab.page.locator("#people li").count() == 2
    assert tab.page.get_by_text("Budget is set in April; call again then.").first.is_visible()
    tab.shot("account")
    if language == "ja":
        tab.assert_translated(NAMES)


@pytest.mark.parametrize("language", ["en", "ja"])
def test_add_a_note_with_a_mention(browse, people, in_sal, language):
    tab = browse(people.is_rep, language=language)
    tab.goto(f"/people/{in_sal.pk}/")
    tab.shot("contact-sal")
    if language == "ja":
        tab.assert_translated(NAMES)
    tab.page.click("form.note-form button[type=submit]")  # empty: said, not saved
    tab.page.locator("#note-error").wait_for()
    tab.shot("contact-note-error")
    if language == "ja":
        tab.assert_translated(NAMES)
    tab.page.fill("#note-body", "Called twice, @fs_rep do you know them?")
    tab.page.click("form.note-form button[type=submit]")
    tab.page.locator(".event-note .mention").wait_for()
    note = Note.objects.get(contact=in_sal)
    assert list(note.mentions.all()) == [people.fs_rep]
    tab.shot("contact-note-added")


@pytest.mark.parametrize("language", ["en", "ja"])
def test_a_refused_move_shows_its_reason(browse, people, in_sal, language):
    tab = browse(people.is_rep, language=language)
    tab.goto(f"/people/{in_sal.pk}/")
    tab.page.select_option("#move-to", "disqualified")
    tab.page.click("form.move-form button[type=submit]")
    message = tab.page.locator(".messages .message.error")
    message.wait_for()
    expected = "Moving to that stage needs a reason." if language == "en" else "理由"
    assert expected in message.inner_text()
    assert Milestone.objects.get(subject=in_sal).current_stage.key == "sal"
    tab.shot("contact-move-refused")
    if language == "ja":
        tab.assert_translated(NAMES)


@pytest.mark.parametrize("language", ["en", "ja"])
def test_another_team_may_not_move_the_person(browse, people, in_sal, language):
    tab = browse(people.fs_rep, language=language)
    tab.goto(f"/people/{in_sal.pk}/")
    assert tab.page.locator("form.move-form").count() == 0
    assert tab.page.locator(".denied-hint").is_visible()
    assert tab.page.locator("#checklist ~ .checklist form").count() == 0
    tab.shot("contact-other-team")
    if language == "ja":
        tab.assert_translated(NAMES)


@pytest.mark.parametrize("language", ["en", "ja"])
def test_empty_states(browse, people, make_contact, playbook, language):
    # a person whose journey has not started (as an import may leave them): nothing at all yet
    bare = Contact.objects.create(first_name="Empty", last_name="Person", created_at=timezone.now())
    tab = browse(people.marketer, language=language)
    tab.goto(f"/people/{bare.pk}/")
    assert tab.page.locator("#timeline .empty").is_visible()
    tab.shot("contact-empty")
    if language == "ja":
        tab.assert_translated(NAMES)
    new = make_contact(first_name="Empty", last_name="Person", at=timezone.now())
    tab.goto(f"/people/{new.pk}/")
    tab.shot("contact-new")
    if language == "ja":
        tab.assert_translated(NAMES)
    company = make_contact(first_name="Only", last_name="One").account
    tab.goto(f"/companies/{company.pk}/")
    tab.shot("account-quiet")
    if language == "ja":
        tab.assert_translated(NAMES)


def test_unknown_person_is_not_found(browse, people):
    tab = browse(people.is_rep, language="ja")
    response = tab.goto("/people/999999/")
    assert response.status == 404
    tab.shot("contact-not-found")
