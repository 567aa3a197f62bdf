"""``kyogyo intake``: forms and sources set up, listed and switched through the command line;
bad input refused with a code and nothing saved."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kyogyo.intake.models import Form, InboundSource

from .conftest import ORIGIN, PERSON_FIELDS


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("intake", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_forms_add_list_disable_enable(db, client):
    out = run(
        "forms",
        "add",
        "contact-us",
        "--name",
        "Contact us",
        "--origin",
        "HTTPS://WWW.Example.jp/",  # written loosely: stored as the browser sends it
        "--field",
        "mail=email",
        "--field",
        "org=account.name",
        "--field",
        "note=payload.note",
        "--required",
        "mail,org",
        "--consent-wording",
        "I agree.",
        "--rate-limit",
        "5",
    )
    form = Form.objects.get()
    assert "POST /intake/forms/contact-us" in out
    assert form.allowed_origins == [ORIGIN]
    assert form.field_map == {"mail": "email", "org": "account.name", "note": "payload.note"}
    assert (form.required, form.rate_limit, form.activity_type) == (["mail", "org"], 5, "form_submission")

    [row] = json.loads(run("forms", "list", "--format", "json"))
    assert (row["key"], row["active"], row["consent_wording"]) == ("contact-us", True, "I agree.")
    run("forms", "disable", "contact-us")
    assert "off" in run("forms", "list")
    post = client.post("/intake/forms/contact-us", {"mail": "a@b.jp"}, HTTP_ORIGIN=ORIGIN)
    assert post.status_code == 404
    run("forms", "enable", "contact-us")
    assert Form.objects.get().active


def test_a_form_added_with_the_defaults_takes_fills(defaults, client):
    run("forms", "add", "simple", "--origin", ORIGIN)
    form = Form.objects.get()
    assert form.field_map == PERSON_FIELDS
    assert form.required == ["email"]
    response = client.post(
        "/intake/forms/simple", {"email": "a@acme.co.jp", "company": "Acme"}, HTTP_ORIGIN=ORIGIN
    )
    assert response.status_code == 201


def test_the_snippet_is_a_form_with_the_fields_the_trap_and_the_consent_box(db):
    run(
        "forms",
        "add",
        "wp",
        "--origin",
        ORIGIN,
        "--consent-wording",
        'News <by> "email"',
        "--honeypot",
        "fax",
    )
    html = run(
        "forms", "snippet", "wp", "--base-url", "https://crm.example.jp/", "--redirect", f"{ORIGIN}/ok"
    )
    assert '<form method="post" action="https://crm.example.jp/intake/forms/wp">' in html
    assert '<input type="email" name="email" required>' in html
    assert 'name="fax" tabindex="-1"' in html
    assert "News &lt;by&gt; &quot;email&quot;" in html
    assert f'name="redirect" value="{ORIGIN}/ok"' in html
    with pytest.raises(CommandError, match="redirect_not_allowed"):
        run(
            "forms",
            "snippet",
            "wp",
            "--base-url",
            "https://crm.example.jp",
            "--redirect",
            "https://evil.example/",
        )


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("forms", "add", "x", "--origin", "https://a.example/path"), "bad_origin"),
        (("forms", "add", "x", "--origin", "ftp://a.example"), "bad_origin"),
        (("forms", "add", "x", "--origin", ORIGIN, "--field", "company=account.name"), "email_field"),
        (
            ("forms", "add", "x", "--origin", ORIGIN, "--field", "e=email", "--field", "b=account.size"),
            "unknown_target",
        ),
        (("forms", "add", "x", "--origin", ORIGIN, "--field", "e"), "bad_field"),
        (("forms", "add", "x", "--origin", ORIGIN, "--field", "consent=email"), "reserved_field"),
        (("forms", "add", "x", "--origin", ORIGIN, "--required", "nope"), "unknown_required"),
        (("forms", "add", "x", "--origin", ORIGIN, "--rate-limit", "0"), "min_value"),
        (("forms", "add", "x y", "--origin", ORIGIN), "invalid"),
        (("forms", "add", "x", "--origin", ORIGIN, "--campaign", "99"), "no_campaign"),
        (("forms", "disable", "nope"), "no_form"),
    ],
)
def test_bad_form_input_is_refused_with_a_code(db, args, code):
    with pytest.raises(CommandError, match=code):
        run(*args)
    assert not Form.objects.exists()


def test_a_form_key_is_taken_once(db):
    run("forms", "add", "x", "--origin", ORIGIN)
    with pytest.raises(CommandError, match="form_exists"):
        run("forms", "add", "x", "--origin", ORIGIN)


def test_hooks_add_list_rotate_disable(db):
    out = run("hooks", "add", "crm", "--name", "CRM", "--accepts", "contacts, activities")
    source = InboundSource.objects.get()
    assert "POST /intake/hooks/crm" in out and source.secret in out
    assert source.accepts == ["contacts", "activities"]
    assert len(source.secret) >= 40

    [row] = json.loads(run("hooks", "list", "--format", "json"))
    assert row == {"key": "crm", "name": "CRM", "accepts": ["contacts", "activities"], "active": True}
    assert source.secret not in run("hooks", "list")

    old = source.secret
    out = run("hooks", "rotate-secret", "crm", "--grace-minutes", "30")
    source.refresh_from_db()
    assert source.secret != old and source.secret in out
    assert source.previous_secret == old and "accepted until" in out
    run("hooks", "disable", "crm")
    assert not InboundSource.objects.get().active
    run("hooks", "enable", "crm")
    assert InboundSource.objects.get().active


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("hooks", "add", "x", "--accepts", "deals"), "bad_accepts"),
        (("hooks", "add", "x", "--accepts", "activities", "--secret", "short"), "weak_secret"),
        (("hooks", "rotate-secret", "nope"), "no_source"),
    ],
)
def test_bad_hook_input_is_refused_with_a_code(db, args, code):
    with pytest.raises(CommandError, match=code):
        run(*args)
    assert not InboundSource.objects.exists()
