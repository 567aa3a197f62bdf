"""Website form fills through HTTP: a fill becomes a person, a company, an activity and a
consent record, and runs the rules; the guards (origin, honeypot, rate limit, size,
validation) refuse what they should and store nothing."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.utils import timezone

from kyogyo.customers.consent import withdraw_consent
from kyogyo.customers.models import Account, ConsentRecord, Contact
from kyogyo.handoffs.models import Handoff
from kyogyo.marketing.actions import ActivityInput, record_activities
from kyogyo.marketing.models import Activity

from .conftest import CONSENT, ORIGIN

PERSON = {
    "email": "Hanako.Sato@Acme.co.jp",
    "first_name": "Hanako",
    "last_name": "Sato",
    "company": "Acme KK",
    "title": "IT Manager",
    "employees": "300-999",
    "industry": "software",
    "country": "jp",
    "message": "Please send the pricing too.",
    "consent": "on",
}


def nothing_stored() -> bool:
    return not Contact.objects.exists() and not Account.objects.exists() and not Activity.objects.exists()


def test_a_fill_creates_the_person_the_company_the_activity_and_the_consent(form, fill):
    response = fill(form, PERSON)

    assert response.status_code == 201, response.content
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    contact = Contact.objects.get()
    assert response.json() == {
        "status": "accepted",
        "contact_id": contact.pk,
        "stage": "lead",
        "created": True,
        "duplicate": False,
    }
    assert (contact.email, contact.first_name, contact.last_name, contact.title) == (
        "hanako.sato@acme.co.jp",
        "Hanako",
        "Sato",
        "IT Manager",
    )
    assert contact.source == "form:whitepaper"
    account = contact.account
    # The size band counts by its lower bound; the domain comes from the work email.
    assert (account.name, account.domain, account.employee_count, account.industry, account.country) == (
        "Acme KK",
        "acme.co.jp",
        300,
        "software",
        "JP",
    )
    activity = Activity.objects.get()
    assert (activity.contact, activity.type, activity.source) == (
        contact,
        "content_download",
        "form:whitepaper",
    )
    assert activity.payload == {
        "form": "whitepaper",
        "message": "Please send the pricing too.",
        "consent": True,
    }
    record = ConsentRecord.objects.get()
    assert (record.contact, record.state, record.source, record.wording, record.form) == (
        contact,
        "granted",
        "form:whitepaper",
        CONSENT,
        form,
    )
    assert contact.consent == "granted"
    # The fill ran the scores: fit from the company and title, engagement from the download.
    assert contact.fit_score == 100
    assert contact.engagement_score == 8.0


def test_a_fill_that_meets_the_mql_rule_moves_the_person_to_mql_and_opens_the_handoff(form, fill, people):
    from kyogyo.customers.actions import create_account, create_contact

    now = timezone.now()
    account = create_account(at=now - dt.timedelta(days=3), name="Acme KK", domain="acme.co.jp")
    contact = create_contact(
        at=now - dt.timedelta(days=3), account=account, email="hanako.sato@acme.co.jp", title="IT Manager"
    )
    earlier = now - dt.timedelta(days=1)
    record_activities(
        [
            ActivityInput(contact.pk, kind, earlier)
            for kind in ("content_download", "content_download", "event")
        ]
    )
    contact.refresh_from_db()
    assert contact.milestone.current_stage.key == "lead"  # engagement 27.4: not yet
    assert contact.engagement_score == pytest.approx(28.0)

    response = fill(form, PERSON)

    assert response.status_code == 200, response.content
    assert response.json()["stage"] == "mql"
    contact.refresh_from_db()
    assert contact.milestone.current_stage.key == "mql"
    handoff = Handoff.objects.get(subject=contact)
    assert (handoff.status, handoff.stage.key, handoff.to_team.key) == ("open", "mql", "inside_sales")
    # The company the person was at kept its data; only its empty fields were filled in.
    account.refresh_from_db()
    assert (account.employee_count, account.industry, account.country) == (300, "software", "JP")


def test_a_second_fill_updates_the_person_and_never_duplicates(form, fill):
    assert fill(form, PERSON).status_code == 201
    second = {**PERSON, "title": "IT Director", "last_name": "", "message": "Another question"}

    response = fill(form, second)

    assert response.status_code == 200
    assert response.json()["created"] is False
    assert Contact.objects.count() == 1 and Account.objects.count() == 1
    contact = Contact.objects.get()
    assert contact.title == "IT Director"
    assert contact.last_name == "Sato"  # a blank answer erases nothing
    assert Activity.objects.count() == 2
    # The same wording ticked again is no new evidence.
    assert ConsentRecord.objects.count() == 1


def test_the_same_fill_sent_twice_is_recorded_once(form, fill):
    first = fill(form, PERSON)
    again = fill(form, PERSON)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["duplicate"] is True
    assert again.json()["contact_id"] == first.json()["contact_id"]
    assert Activity.objects.count() == 1
    assert ConsentRecord.objects.count() == 1


def test_an_opt_out_is_not_granted_again_unless_the_box_is_ticked(form, fill, make_contact):
    contact = make_contact(email="hanako.sato@acme.co.jp")
    withdraw_consent(contact, source="email:unsubscribe")

    unticked = {k: v for k, v in PERSON.items() if k != "consent"}
    assert fill(form, unticked).status_code == 200
    contact.refresh_from_db()
    assert contact.consent == "withdrawn"
    assert list(ConsentRecord.objects.values_list("state", flat=True)) == ["withdrawn"]

    assert fill(form, {**PERSON, "consent": "off", "message": "again"}).status_code == 200
    contact.refresh_from_db()
    assert contact.consent == "withdrawn"

    assert fill(form, {**PERSON, "message": "now I agree"}).status_code == 200
    contact.refresh_from_db()
    assert contact.consent == "granted"
    records = list(ConsentRecord.objects.order_by("id").values_list("state", "source", "wording"))
    assert records == [("withdrawn", "email:unsubscribe", ""), ("granted", "form:whitepaper", CONSENT)]


def test_a_json_fill_works_like_a_form_encoded_one(form, fill):
    response = fill(form, {**PERSON, "consent": True, "employees": 1200}, json_body=True)

    assert response.status_code == 201, response.content
    contact = Contact.objects.get()
    assert (contact.consent, contact.account.employee_count) == ("granted", 1200)


@pytest.mark.parametrize("origin", ["https://evil.example", "http://www.example.jp", "null", None])
def test_a_fill_from_another_origin_is_refused(form, fill, origin):
    response = fill(form, PERSON, origin=origin)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response
    assert nothing_stored()


def test_the_referer_stands_in_for_a_missing_origin(form, fill):
    response = fill(form, PERSON, origin=None, HTTP_REFERER=f"{ORIGIN}/whitepaper?utm=x")
    assert response.status_code == 201


def test_preflight_is_answered_only_for_allowed_origins(form, client):
    url = f"/intake/forms/{form.key}"
    ok = client.options(url, HTTP_ORIGIN=ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert ok.status_code == 204
    assert ok["Access-Control-Allow-Origin"] == ORIGIN
    assert ok["Access-Control-Allow-Methods"] == "POST"
    assert "Content-Type" in ok["Access-Control-Allow-Headers"]
    assert "Origin" in ok["Vary"]

    refused = client.options(
        url, HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused


def test_a_filled_honeypot_looks_accepted_but_stores_nothing(form, fill, caplog):
    with caplog.at_level(logging.WARNING, logger="kyogyo.intake"):
        response = fill(form, {**PERSON, "homepage": "http://spam.example"})

    assert response.status_code == 200
    assert response.json() == {"status": "accepted"}
    assert nothing_stored()
    assert not ConsentRecord.objects.exists()
    assert "honeypot" in caplog.text and "whitepaper" in caplog.text


def test_the_rate_limit_lets_exactly_n_fills_through_then_answers_429(form, fill):
    form.rate_limit = 3
    form.save()
    answers = [fill(form, {**PERSON, "email": f"p{i}@acme.co.jp"}).status_code for i in range(5)]

    assert answers == [201, 201, 201, 429, 429]
    refused = fill(form, {**PERSON, "email": "late@acme.co.jp"})
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused["Retry-After"]) > 0
    assert refused["Access-Control-Allow-Origin"] == ORIGIN  # the page's script can read why
    assert Contact.objects.count() == 3
    # Another visitor has a count of their own.
    assert fill(form, {**PERSON, "email": "other@acme.co.jp"}, ip="198.51.100.7").status_code == 201


def test_ipv6_visitors_are_counted_by_their_64(form, fill):
    form.rate_limit = 1
    form.save()
    assert fill(form, {**PERSON, "email": "a@acme.co.jp"}, ip="2001:db8:1:2::1").status_code == 201
    assert fill(form, {**PERSON, "email": "b@acme.co.jp"}, ip="2001:db8:1:2::ffff").status_code == 429
    assert fill(form, {**PERSON, "email": "c@acme.co.jp"}, ip="2001:db8:1:3::1").status_code == 201


def test_bad_fields_are_each_named_and_nothing_is_stored(form, fill):
    bad = {
        **PERSON,
        "email": "not-an-email",
        "company": "",
        "employees": "lots",
        "country": "Japan",
        "title": "x" * 151,
        "consent": "maybe",
    }
    response = fill(form, bad)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_fill"
    assert {name: e["code"] for name, e in error["fields"].items()} == {
        "email": "bad_email",
        "company": "required",
        "employees": "bad_number",
        "country": "bad_value",
        "title": "too_long",
        "consent": "bad_value",
    }
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert nothing_stored()


def test_a_missing_email_is_required(form, fill):
    response = fill(form, {"company": "Acme"})
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["email"]["code"] == "required"


def test_a_huge_body_is_refused_before_it_is_read(form, fill):
    response = fill(form, {**PERSON, "message": "x" * 70_000})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert nothing_stored()


def test_a_long_answer_under_the_size_limit_is_a_field_error(form, fill):
    response = fill(form, {**PERSON, "message": "x" * 6_000})
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["message"]["code"] == "too_long"


def test_html_and_script_are_stored_as_text_and_shown_escaped(form, fill, admin_client):
    script = "<script>alert(1)</script>"
    image = '<img src=x onerror="alert(2)">'
    response = fill(form, {**PERSON, "first_name": script, "company": image, "message": script + image})

    assert response.status_code == 201
    assert b"<script>" not in response.content
    contact = Contact.objects.get()
    assert (contact.first_name, contact.account.name) == (script, image)
    assert Activity.objects.get().payload["message"] == script + image
    page = admin_client.get(f"/admin/customers/contact/{contact.pk}/change/")
    assert page.status_code == 200
    assert script.encode() not in page.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in page.content


def test_a_plain_html_form_is_redirected_to_its_thank_you_page(form, fill):
    response = fill(form, {**PERSON, "redirect": f"{ORIGIN}/thanks"})
    assert response.status_code == 303
    assert response["Location"] == f"{ORIGIN}/thanks"
    assert Contact.objects.count() == 1


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/thanks", "javascript:alert(1)", f"{ORIGIN}@evil.example/", "//evil.example/"],
)
def test_a_redirect_off_the_allowed_origins_is_refused(form, fill, target):
    response = fill(form, {**PERSON, "redirect": target})
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["redirect"]["code"] == "redirect_not_allowed"
    assert nothing_stored()


def test_other_content_types_methods_and_unknown_forms(form, client, fill):
    url = f"/intake/forms/{form.key}"
    text = client.post(url, "email=a@b.jp", content_type="text/plain", HTTP_ORIGIN=ORIGIN)
    assert text.status_code == 415
    assert client.get(url, HTTP_ORIGIN=ORIGIN).status_code == 405
    bad_json = client.post(url, "{", content_type="application/json", HTTP_ORIGIN=ORIGIN)
    assert (bad_json.status_code, bad_json.json()["error"]["code"]) == (400, "bad_body")
    assert client.post("/intake/forms/nope", PERSON, HTTP_ORIGIN=ORIGIN).status_code == 404
    form.active = False
    form.save()
    assert fill(form, PERSON).status_code == 404
    assert nothing_stored()


def test_a_free_mail_address_makes_no_company_from_its_domain(form, fill):
    form.required = ["email"]
    form.save()
    response = fill(form, {"email": "someone@gmail.com", "first_name": "Ken"})

    assert response.status_code == 201
    contact = Contact.objects.get()
    assert contact.account is None
    assert not Account.objects.exists()
    assert response.json()["stage"] == "disqualified"  # the rules ran: free mail without a company


def test_an_existing_company_is_found_by_the_email_domain(form, fill):
    from kyogyo.customers.actions import create_account

    account = create_account(name="ACME Corporation", domain="acme.co.jp", employee_count=5000)
    response = fill(form, PERSON)

    assert response.status_code == 201
    contact = Contact.objects.get()
    assert contact.account == account
    account.refresh_from_db()
    assert (account.name, account.employee_count, account.industry) == ("ACME Corporation", 5000, "software")
