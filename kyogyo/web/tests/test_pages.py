"""The layout's pages over HTTP: sign-in, password reset, preferences, language, the
home queue's accept/reject, the CSP header and the error pages."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from kyogyo.handoffs.models import Handoff


@pytest.fixture
def waiting(people, make_contact, walk):
    """A person handed to inside sales just now: one open handoff in their queue."""
    contact = make_contact(first_name="Hanako", last_name="Yamada", at=timezone.now())
    walk(contact, [("mql", timezone.now())])
    return Handoff.objects.get(subject=contact, status=Handoff.Status.OPEN)


def signed_in(client, user):
    client.force_login(user)
    return client


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/")


def test_sign_in_with_wrong_password_says_so_and_keeps_the_name(client, people):
    response = client.post("/login/", {"username": "is_rep", "password": "wrong"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert b'value="is_rep"' in response.content


def test_sign_in_lands_on_the_team_workspace(client, people):
    response = client.post("/login/", {"username": "is_rep", "password": "pw-is_rep"}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert b"Inside Sales workspace" in response.content


def test_sign_out_needs_a_post_and_ends_the_session(client, people):
    signed_in(client, people.is_rep)
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_every_page_carries_a_strict_content_security_policy(client, people):
    policy = signed_in(client, people.is_rep).get("/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy


def test_pages_hold_no_inline_script(client, people, waiting):
    html = signed_in(client, people.is_rep).get("/").content.decode()
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"


def test_language_is_remembered_on_the_person(client, people):
    signed_in(client, people.is_rep)
    client.post("/language/", {"language": "ja", "next": "/"})
    people.is_rep.refresh_from_db()
    assert people.is_rep.language == "ja"
    client.cookies.clear()  # a new browser: the saved language still wins
    client.force_login(people.is_rep)
    response = client.get("/")
    assert response["Content-Language"] == "ja"
    assert "マイキュー".encode() in response.content


def test_language_switch_refuses_unknown_languages_and_foreign_redirects(client, people):
    signed_in(client, people.is_rep)
    assert client.post("/language/", {"language": "xx"}).status_code == 400
    response = client.post("/language/", {"language": "en", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_preferences_save_language_and_time_zone(client, people):
    signed_in(client, people.is_rep)
    response = client.post("/me/", {"language": "en", "time_zone": "Europe/Berlin"}, follow=True)
    assert b"Your preferences are saved." in response.content
    people.is_rep.refresh_from_db()
    assert people.is_rep.time_zone == "Europe/Berlin"


def test_preferences_refuse_an_unknown_time_zone(client, people):
    signed_in(client, people.is_rep)
    response = client.post("/me/", {"language": "en", "time_zone": "Mars/Olympus"})
    assert response.status_code == 200
    assert b"Select a valid choice" in response.content
    people.is_rep.refresh_from_db()
    assert people.is_rep.time_zone == ""


def test_password_reset_mails_a_link_that_sets_a_new_password(client, people, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    people.is_rep.email = "rep@example.jp"
    people.is_rep.save()
    response = client.post("/password-reset/", {"email": "rep@example.jp"}, follow=True)
    assert b"Check your mail" in response.content
    link = re.search(r"http://testserver(/password-reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    assert b"Choose a new password" in form.content
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": "a-long-new-pw-1", "new_password2": "a-long-new-pw-1"}
    )
    assert done.status_code == 302
    assert client.login(username="is_rep", password="a-long-new-pw-1")


def test_password_reset_for_an_unknown_address_says_the_same(client, db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    response = client.post("/password-reset/", {"email": "nobody@example.jp"}, follow=True)
    assert b"Check your mail" in response.content
    assert mail.outbox == []


def test_the_queue_lists_the_teams_open_handoffs(client, people, waiting):
    html = signed_in(client, people.is_rep).get("/").content.decode()
    assert f'id="handoff-{waiting.pk}"' in html
    assert "business h left" in html
    assert "Yamada" in html


def test_other_teams_do_not_see_the_handoff_in_their_queue(client, people, waiting):
    html = signed_in(client, people.fs_rep).get("/").content.decode()
    assert f'id="handoff-{waiting.pk}"' not in html
    assert "Nothing is waiting for you" in html


def test_accept_from_the_queue_with_htmx_swaps_the_row(client, people, waiting):
    signed_in(client, people.is_rep)
    response = client.post(reverse("handoffs:accept", args=[waiting.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"Accepted" in response.content
    waiting.refresh_from_db()
    assert waiting.status == Handoff.Status.ACCEPTED and waiting.acted_by == people.is_rep


def test_reject_needs_a_reason(client, people, waiting):
    signed_in(client, people.is_rep)
    response = client.post(
        reverse("handoffs:reject", args=[waiting.pk]), {"reason": ""}, HTTP_HX_REQUEST="true"
    )
    assert b"Choose a reason to reject." in response.content
    waiting.refresh_from_db()
    assert waiting.status == Handoff.Status.OPEN


def test_reject_with_a_reason_and_a_note(client, people, waiting):
    from kyogyo.journey.models import ReasonCode

    reason = ReasonCode.objects.filter(kind=ReasonCode.Kind.REJECT, active=True).first()
    signed_in(client, people.is_rep)
    response = client.post(
        reverse("handoffs:reject", args=[waiting.pk]),
        {"reason": reason.key, "note": "no budget", "next": "/"},
    )
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == Handoff.Status.REJECTED and waiting.note == "no budget"


def test_acting_twice_says_someone_already_did(client, people, waiting):
    signed_in(client, people.is_rep)
    client.post(reverse("handoffs:accept", args=[waiting.pk]))
    response = client.post(reverse("handoffs:accept", args=[waiting.pk]), {"next": "/"}, follow=True)
    assert b"Someone already acted on this handoff" in response.content


def test_another_team_cannot_accept(client, people, waiting):
    signed_in(client, people.fs_rep)
    response = client.post(reverse("handoffs:accept", args=[waiting.pk]), {"next": "/"})
    assert response.status_code == 403
    assert b"Only the receiving team or a manager can act on this handoff." in response.content
    waiting.refresh_from_db()
    assert waiting.status == Handoff.Status.OPEN


def test_unknown_handoff_is_a_404_page(client, people):
    response = signed_in(client, people.is_rep).post(reverse("handoffs:accept", args=[999999]))
    assert response.status_code == 404
    assert b"There is nothing here" in response.content


def test_settings_are_for_admins_only(client, people):
    assert signed_in(client, people.is_rep).get("/settings/").status_code == 403
    assert signed_in(client, people.admin).get("/settings/").status_code == 200


def test_navigation_shows_settings_to_admins_only(client, people):
    assert b'href="/settings/"' not in signed_in(client, people.is_rep).get("/").content
    assert b'href="/settings/"' in signed_in(client, people.admin).get("/").content


def test_stored_markup_is_shown_as_text(client, people, make_contact, walk):
    contact = make_contact(first_name="<script>alert(1)</script>", last_name="<b>x</b>", at=timezone.now())
    walk(contact, [("mql", timezone.now())])
    html = signed_in(client, people.is_rep).get("/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_csp_reports_are_accepted_and_bad_ones_refused(client, db):
    report = b'{"csp-report": {"violated-directive": "script-src", "blocked-uri": "inline"}}'
    assert client.post("/csp-report", report, content_type="application/csp-report").status_code == 204
    assert client.post("/csp-report", b"not json", content_type="application/csp-report").status_code == 400
