"""Restricted fields (kyogyo/org/restricted.py) through every surface a reader touches: the
record pages with their timeline and history, the lists with their filters and sorts, the
global search, the API, the list exports (CSV and XLSX, web, API and CLI).

The matrix: each role × each surface, with a person who withdrew consent. Members of the
four teams never get the person's name, email or phone in any answer; managers and admins
do. Then an admin marks a deal's amount restricted and it disappears from every surface at
once, for members only."""

from __future__ import annotations

import datetime as dt
import io
import json
from urllib.parse import quote_plus

import openpyxl
import pytest
from django.core.management import call_command
from django.test import Client

from kyogyo.customers import actions as customer_actions
from kyogyo.customers.consent import withdraw_consent
from kyogyo.customers.models import Contact
from kyogyo.deals import actions as deal_actions
from kyogyo.org import restricted
from kyogyo.org.models import RestrictedField
from kyogyo.testing import T0

pytestmark = pytest.mark.django_db

HOUR = dt.timedelta(hours=1)
NAME, FAMILY, EMAIL, PHONE = "Zebulon", "Quixote", "zq-secret@hidden.example", "03-9999-1234"
SECRETS = (NAME, FAMILY, EMAIL, PHONE)
AMOUNT = 7_654_321
AMOUNT_SHOWN = ("7,654,321", "7654321")

MEMBERS = ("marketer", "is_rep", "fs_rep", "csm")
SEERS = ("manager", "admin")


@pytest.fixture
def story(people, make_contact, walk):
    """A person who reached SAL, had a deal opened, renamed (so their history holds the
    name), then opted out."""
    person = make_contact(at=T0, email=EMAIL, first_name="Old", last_name=FAMILY, phone=PHONE)
    walk(person, [("mql", T0 + HOUR), ("sal", T0 + 2 * HOUR)])
    deal = deal_actions.qualify(person, actor=people.is_rep, name="Pilot rollout", amount=AMOUNT)
    customer_actions.update_contact(Contact.objects.get(pk=person.pk), first_name=NAME)
    withdraw_consent(Contact.objects.get(pk=person.pk), source="test")
    return Contact.objects.get(pk=person.pk), deal


def _body(response) -> str:
    assert response.status_code == 200, (response.status_code, response.content[:300])
    if getattr(response, "streaming", False):
        raw = b"".join(response.streaming_content)
    else:
        raw = b"".join(response) if hasattr(response, "file_to_stream") else response.content
    if raw[:2] == b"PK":  # an XLSX file: every cell's text
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True)
        return "\n".join(
            str(c) for s in book.worksheets for row in s.iter_rows(values_only=True) for c in row
        )
    return raw.decode("utf-8-sig")


def _page(user, path, **params):
    """The answer's text without the reader's own query echoed back (the search box keeps it)."""
    client = Client()
    client.force_login(user)
    body = _body(client.get(path, params))
    for typed in params.values():
        body = body.replace(typed, "").replace(quote_plus(typed), "")
    return body


def _api(api, user, path, **params):
    return _body(api(user).get(path, params))


def _cli(user):
    out = io.StringIO()
    call_command("export", "contacts", "--as", user.username, stdout=out, stderr=io.StringIO())
    return out.getvalue()


# surface name → (how to read it, whether a reader with access finds the person there)
SURFACES = {
    "person page (fields, timeline, history)": lambda s, u, api: _page(u, f"/people/{s[0].pk}/"),
    "company page": lambda s, u, api: _page(u, f"/companies/{s[0].account_id}/"),
    "deal page": lambda s, u, api: _page(u, f"/deals/{s[1].pk}/"),
    "people list": lambda s, u, api: _page(u, "/people/"),
    "people list searched by name": lambda s, u, api: _page(u, "/people/", q=NAME.lower()),
    "people list searched by two names": lambda s, u, api: _page(u, "/people/", q=f"{FAMILY} {NAME}"),
    "people list sorted by name": lambda s, u, api: _page(u, "/people/", sort="name"),
    "handoffs list": lambda s, u, api: _page(u, "/handoffs/"),
    "search by name": lambda s, u, api: _page(u, "/search/", q=FAMILY),
    "search by email": lambda s, u, api: _page(u, "/search/", q="zq-secret"),
    "people export CSV": lambda s, u, api: _page(u, "/people/export/", format="csv"),
    "people export XLSX": lambda s, u, api: _page(u, "/people/export/", format="xlsx"),
    "people export searched by email": lambda s, u, api: _page(u, "/people/export/", q="zq-secret"),
    "deals export": lambda s, u, api: _page(u, "/deals/export/", format="csv"),
    "handoffs export": lambda s, u, api: _page(u, "/handoffs/export/", format="csv"),
    "API person": lambda s, u, api: _api(api, u, f"/contacts/{s[0].pk}"),
    "API people by email": lambda s, u, api: _api(api, u, "/contacts", email=EMAIL),
    "API export": lambda s, u, api: _api(api, u, "/exports/contacts"),
    "API export XLSX": lambda s, u, api: _api(api, u, "/exports/contacts", format="xlsx"),
    "CLI export": lambda s, u, api: _cli(u),
}


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("role", MEMBERS + SEERS)
def test_an_opted_out_persons_data_reaches_managers_and_admins_only(story, people, api, role, surface):
    body = SURFACES[surface](story, getattr(people, role), api)
    shown = [secret for secret in SECRETS if secret in body]
    if role in SEERS:
        assert shown, f"{role} should find the person on the {surface}"
    else:
        assert not shown, f"{role} reads {shown} on the {surface}"


def test_what_members_get_instead_says_restricted(story, people, api):
    person, _deal = story
    assert "Restricted" in _page(people.is_rep, f"/people/{person.pk}/")
    answer = api(people.is_rep).get(f"/contacts/{person.pk}").json()
    assert answer["email"] is None and answer["first_name"] is None
    assert answer["restricted"] == ["email", "external_id", "first_name", "last_name", "phone", "title"]
    assert answer["consent"] == "withdrawn"  # what is not restricted is still there
    assert api(people.manager).get(f"/contacts/{person.pk}").json()["restricted"] == []


def test_a_hidden_email_matches_no_api_filter(story, people, api):
    assert api(people.is_rep).get("/contacts", {"email": EMAIL}).json()["items"] == []
    assert len(api(people.manager).get("/contacts", {"email": EMAIL}).json()["items"]) == 1


def test_japanese_readers_see_hidden_values_as_hihyouji(story, people):
    people.is_rep.language = "ja"
    people.is_rep.save()
    assert "非表示" in _page(people.is_rep, f"/people/{story[0].pk}/")


# --- a field an admin marks -----------------------------------------------------------------

AMOUNT_SURFACES = {
    "deal page": lambda s, u, api: _page(u, f"/deals/{s[1].pk}/"),
    "deals list": lambda s, u, api: _page(u, "/deals/"),
    "pipeline board (cards, totals)": lambda s, u, api: _page(u, "/pipeline/"),
    "company page (deals, timeline)": lambda s, u, api: _page(u, f"/companies/{s[0].account_id}/"),
    "person page (timeline)": lambda s, u, api: _page(u, f"/people/{s[0].pk}/"),
    "deals export CSV": lambda s, u, api: _page(u, "/deals/export/", format="csv"),
    "deals export XLSX": lambda s, u, api: _page(u, "/deals/export/", format="xlsx"),
    "API deal": lambda s, u, api: _api(api, u, f"/deals/{s[1].pk}"),
    "API deals": lambda s, u, api: _api(api, u, "/deals"),
    "API export": lambda s, u, api: _api(api, u, "/exports/deals"),
}


def _amount_on(surfaces, story, user, api) -> list[str]:
    return [name for name, read in surfaces.items() if any(a in read(story, user, api) for a in AMOUNT_SHOWN)]


def test_a_newly_marked_field_disappears_everywhere_at_once(story, people, api):
    assert _amount_on(AMOUNT_SURFACES, story, people.is_rep, api) == list(AMOUNT_SURFACES)

    admin = Client()
    admin.force_login(people.admin)
    marked = admin.post("/settings/restricted/", {"field": "deals.deal.amount", "audience": "managers"})
    assert marked.status_code == 302

    assert _amount_on(AMOUNT_SURFACES, story, people.is_rep, api) == []
    assert _amount_on(AMOUNT_SURFACES, story, people.manager, api) == list(AMOUNT_SURFACES)
    out = io.StringIO()
    call_command("export", "deals", stdout=out, stderr=io.StringIO())
    assert str(AMOUNT) not in out.getvalue()
    deal = api(people.is_rep).get(f"/deals/{story[1].pk}").json()
    assert (deal["amount"], deal["weighted_amount"]) == (None, None)
    assert deal["restricted"] == ["amount", "weighted_amount"]

    mark = RestrictedField.objects.get()
    assert admin.post(f"/settings/restricted/{mark.pk}/remove").status_code == 302
    assert _amount_on(AMOUNT_SURFACES, story, people.is_rep, api) == list(AMOUNT_SURFACES)


def test_admins_only_hides_a_field_from_managers_too(story, people, api):
    RestrictedField.objects.create(
        model="deals.deal", field="amount", audience=RestrictedField.Audience.ADMINS, created_at=T0
    )
    assert _amount_on(AMOUNT_SURFACES, story, people.manager, api) == []
    assert _amount_on(AMOUNT_SURFACES, story, people.admin, api) == list(AMOUNT_SURFACES)


def test_a_hidden_field_neither_sorts_nor_filters_a_list(story, people):
    RestrictedField.objects.create(model="deals.deal", field="amount", created_at=T0)
    RestrictedField.objects.create(model="customers.account", field="segment", created_at=T0)
    member = Client()
    member.force_login(people.is_rep)
    by_amount = member.get("/deals/", {"sort": "amount"})
    assert "restricted; the list is in its usual order" in by_amount.content.decode()
    assert by_amount.context["state"].sort.key == "newest"
    by_segment = member.get("/people/", {"segment": "enterprise"})
    assert "restricted; the list is not filtered by it" in by_segment.content.decode()
    manager = Client()
    manager.force_login(people.manager)
    assert manager.get("/deals/", {"sort": "amount"}).context["state"].sort.key == "amount"


def test_the_deal_form_leaves_out_what_the_editor_may_not_see(story, people):
    RestrictedField.objects.create(model="deals.deal", field="amount", created_at=T0)
    _person, deal = story
    owner = deal.owner or people.is_rep
    client = Client()
    client.force_login(owner)
    page = client.get(f"/deals/{deal.pk}/")
    assert 'name="amount"' not in page.content.decode()
    saved = client.post(
        f"/deals/{deal.pk}/",
        {"version": deal.version, "name": "Renamed", "currency": "JPY", "amount": "1"},
    )
    assert saved.status_code in (200, 302)
    deal.refresh_from_db()
    assert deal.amount == AMOUNT  # a posted value of a hidden field is not taken


def test_the_cli_exports_for_a_named_user(story, people):
    assert EMAIL in _cli(people.admin)
    assert EMAIL not in _cli(people.csm)
    out, err = io.StringIO(), io.StringIO()
    call_command("export", "contacts", stdout=out, stderr=err)
    assert EMAIL not in out.getvalue()
    assert "Restricted fields are masked" in err.getvalue()


def test_the_cli_refuses_an_unknown_reader(defaults):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="unknown_user"):
        call_command("export", "contacts", "--as", "nobody", stdout=io.StringIO())


# --- the policy itself, by hand -------------------------------------------------------------


def test_may_see_answers_per_role_and_record(story, people):
    person, deal = story
    granted = Contact.objects.exclude(pk=person.pk).first()
    for role in MEMBERS:
        assert not restricted.may_see(getattr(people, role), person, "email")
        assert restricted.may_see(getattr(people, role), person, "consent")
        assert restricted.may_see(getattr(people, role), deal, "amount")
    for role in SEERS:
        assert restricted.may_see(getattr(people, role), person, "email")
    assert not restricted.may_see(people.outsider, person, "email")
    if granted is not None:
        assert restricted.may_see(people.is_rep, granted, "email")


def test_a_masked_copy_is_never_saved_and_the_record_is_untouched(story, people):
    person, _deal = story
    shown = restricted.mask(people.is_rep, person)
    assert shown is not person and person.email == EMAIL
    assert restricted.is_masked(shown.email) and str(shown.email) == "Restricted"
    with pytest.raises(ValueError, match="cannot be saved"):
        shown.save()
    assert restricted.mask(people.manager, person) is person


def test_hidden_values_sort_last_as_if_empty(story, people, make_contact):
    make_contact(last_name="Aoki")
    make_contact(last_name="Zzz")
    policy = restricted.policy(people.is_rep)
    order, refused = policy.ordering(Contact, ("last_name", "id"))
    assert not refused
    names = [c.last_name for c in Contact.objects.order_by(*order)]
    assert names[-1] == FAMILY  # "Quixote" would sort before "Zzz" if it were read
    assert names[:2] == ["Aoki", "Person1"] or names[0] == "Aoki"


def test_an_export_row_is_masked_where_its_flag_says(story, people):
    from kyogyo.deals.models import Deal

    rows = list(
        restricted.policy(people.is_rep).masked_rows(Deal.objects.all(), ["name", "contact__email"], 10)
    )
    assert [(name, str(email)) for name, email in rows] == [("Pilot rollout", "Restricted")]
    rows = list(
        restricted.policy(people.admin).masked_rows(Deal.objects.all(), ["name", "contact__email"], 10)
    )
    assert rows == [("Pilot rollout", EMAIL)]


def test_a_history_change_of_a_restricted_field_is_masked(story, people):
    from kyogyo.audit.history import history_for

    person, _deal = story
    hidden = [f for e in history_for(person, policy=restricted.policy(people.is_rep)) for f in e.fields]
    shown = [f for e in history_for(person, policy=restricted.policy(people.admin)) for f in e.fields]
    assert any(f.name == "first_name" and f.after == NAME for f in shown)
    assert all(restricted.is_masked(f.after) for f in hidden if f.name == "first_name")
    assert json.dumps([str(f.after) for f in hidden]).count(NAME) == 0


def test_marking_refuses_unknown_fields_and_non_admins(people):
    from kyogyo.org import actions

    with pytest.raises(actions.OrgError, match="cannot be restricted"):
        actions.mark_restricted(actor=people.admin, model="deals.deal", field="name", audience="managers")
    with pytest.raises(actions.OrgError):
        actions.mark_restricted(actor=people.manager, model="deals.deal", field="amount", audience="managers")
    client = Client()
    client.force_login(people.admin)
    refused = client.post("/settings/restricted/", {"field": "deals.deal.bogus", "audience": "managers"})
    assert refused.status_code == 422
    assert not RestrictedField.objects.exists()
