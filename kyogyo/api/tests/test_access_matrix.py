"""The access matrix: every operation of the API × every role × a read and a write token.

Each operation has an entry saying who may use it on the records of a small world (a lead
owned by Marketing, …); the test sends the request as every named user, each in a
transaction rolled back afterwards, and checks that exactly the allowed ones get through.
Everyone else is refused with 403, or 404 where the record is one they may not see — and
that 404 is the very answer an unknown id gets. A read token is refused every write. An
operation of the schema without an entry here fails the test: a new endpoint cannot ship
without saying who may use it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from kyogyo.api.actions import create_token
from kyogyo.api.site import api as ninja_api
from kyogyo.marketing.models import Activity, Campaign
from kyogyo.testing import ApiClient

ROLES = ["marketer", "is_rep", "fs_rep", "csm", "manager", "admin", "outsider"]
MEMBERS = frozenset(ROLES) - {"outsider"}
EVERYONE = frozenset(ROLES)
LEAD_OWNERS = frozenset({"marketer", "manager", "admin"})  # a lead is Marketing's stage
SAFE = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class Entry:
    allowed: frozenset[str]
    path: Callable[[Any], str]  # the path for this world, ids filled in
    body: Callable[[Any], Any] = field(default=lambda w: None)
    # For operations on one record: refused readers get 404, like an unknown id.
    unknown: Callable[[Any], str] | None = None


def now(minutes: int = 0) -> str:
    return (timezone.now() - dt.timedelta(minutes=minutes)).isoformat()


MATRIX: dict[tuple[str, str], Entry] = {
    ("GET", "/api/me"): Entry(EVERYONE, lambda w: "/me"),
    ("GET", "/api/tokens"): Entry(EVERYONE, lambda w: "/tokens"),
    ("POST", "/api/tokens"): Entry(EVERYONE, lambda w: "/tokens", lambda w: {"name": "another"}),
    # Revoking the marketer's token: theirs, or an admin's to do.
    ("DELETE", "/api/tokens/{token_id}"): Entry(
        frozenset({"marketer", "admin"}),
        lambda w: f"/tokens/{w.marketer_token}",
        unknown=lambda w: "/tokens/987654",
    ),
    ("GET", "/api/accounts"): Entry(MEMBERS, lambda w: "/accounts"),
    ("POST", "/api/accounts"): Entry(MEMBERS, lambda w: "/accounts", lambda w: {"name": "New KK"}),
    ("GET", "/api/accounts/{account_id}"): Entry(
        MEMBERS, lambda w: f"/accounts/{w.lead.account_id}", unknown=lambda w: "/accounts/987654"
    ),
    ("PATCH", "/api/accounts/{account_id}"): Entry(
        MEMBERS,
        lambda w: f"/accounts/{w.lead.account_id}",
        lambda w: {"segment": "smb"},
        lambda w: "/accounts/987654",
    ),
    ("GET", "/api/contacts"): Entry(MEMBERS, lambda w: "/contacts"),
    ("POST", "/api/contacts"): Entry(MEMBERS, lambda w: "/contacts", lambda w: {"email": "new@example.jp"}),
    ("GET", "/api/contacts/{contact_id}"): Entry(
        MEMBERS, lambda w: f"/contacts/{w.lead.pk}", unknown=lambda w: "/contacts/987654"
    ),
    ("PATCH", "/api/contacts/{contact_id}"): Entry(
        LEAD_OWNERS,
        lambda w: f"/contacts/{w.lead.pk}",
        lambda w: {"title": "CIO"},
        lambda w: "/contacts/987654",
    ),
    ("POST", "/api/contacts/{contact_id}/advance"): Entry(
        LEAD_OWNERS,
        lambda w: f"/contacts/{w.lead.pk}/advance",
        lambda w: {"stage": "mql"},
        lambda w: "/contacts/987654/advance",
    ),
    ("POST", "/api/contacts/{contact_id}/classify"): Entry(
        LEAD_OWNERS,
        lambda w: f"/contacts/{w.lead.pk}/classify",
        lambda w: {"verdict": "later"},
        lambda w: "/contacts/987654/classify",
    ),
    ("GET", "/api/contacts/{contact_id}/transitions"): Entry(
        MEMBERS,
        lambda w: f"/contacts/{w.lead.pk}/transitions",
        unknown=lambda w: "/contacts/987654/transitions",
    ),
    ("GET", "/api/campaigns"): Entry(MEMBERS, lambda w: "/campaigns"),
    ("POST", "/api/campaigns"): Entry(MEMBERS, lambda w: "/campaigns", lambda w: {"name": "Expo"}),
    ("GET", "/api/campaigns/{campaign_id}"): Entry(
        MEMBERS, lambda w: f"/campaigns/{w.campaign.pk}", unknown=lambda w: "/campaigns/987654"
    ),
    ("PATCH", "/api/campaigns/{campaign_id}"): Entry(
        MEMBERS,
        lambda w: f"/campaigns/{w.campaign.pk}",
        lambda w: {"channel": "event"},
        lambda w: "/campaigns/987654",
    ),
    ("GET", "/api/activities"): Entry(MEMBERS, lambda w: "/activities"),
    ("GET", "/api/exports/{kind}"): Entry(MEMBERS, lambda w: "/exports/contacts"),
    ("POST", "/api/activities"): Entry(
        MEMBERS,
        lambda w: "/activities",
        lambda w: {"contact_id": w.lead.pk, "type": "call", "occurred_at": now(5)},
    ),
    ("GET", "/api/activities/{activity_id}"): Entry(
        MEMBERS, lambda w: f"/activities/{w.activity.pk}", unknown=lambda w: "/activities/987654"
    ),
    ("POST", "/api/activities/bulk"): Entry(
        MEMBERS,
        lambda w: "/activities/bulk",
        lambda w: {"items": [{"contact_id": w.lead.pk, "type": "web_visit", "occurred_at": now(5)}]},
    ),
}


def schema_operations() -> set[tuple[str, str]]:
    paths = ninja_api.get_openapi_schema()["paths"]
    return {(method.upper(), path) for path, item in paths.items() for method in item}


def test_every_operation_has_an_entry():
    missing = sorted(schema_operations() - set(MATRIX))
    assert not missing, f"operations without an access-matrix entry (say who may use them): {missing}"
    stale = sorted(set(MATRIX) - schema_operations())
    assert not stale, f"access-matrix entries for operations that no longer exist: {stale}"


@pytest.fixture
def world(people, make_contact):
    lead = make_contact()
    campaign = Campaign.objects.create(name="Webinar")
    activity = Activity.objects.create(contact=lead, type="web_visit", occurred_at=timezone.now())
    clients = {}
    for role in ROLES:
        user = getattr(people, role)
        for scope in ("read", "write"):
            token, plain = create_token(user, name=f"{role}-{scope}", scope=scope, actor=user)
            clients[(role, scope)] = ApiClient(plain)
            if (role, scope) == ("marketer", "write"):
                marketer_token = token.pk
    return SimpleNamespace(
        lead=lead, campaign=campaign, activity=activity, clients=clients, marketer_token=marketer_token
    )


def send(client: ApiClient, method: str, path: str, body: Any) -> Any:
    if method == "GET":
        return client.get(path)
    if method == "DELETE":
        return client.delete(path)
    return getattr(client, method.lower())(path, body or {})


def rolled_back(client: ApiClient, method: str, path: str, body: Any) -> Any:
    """Send the request and undo what it wrote, so every role meets the same world."""
    with transaction.atomic():
        result = send(client, method, path, body)
        transaction.set_rollback(True)
    return result


@pytest.mark.parametrize(("method", "template"), sorted(MATRIX), ids=lambda v: str(v))
def test_the_matrix(world, settings, method, template):
    settings.KYOGYO_API_RATE_LIMIT = (1_000_000, 60)
    entry = MATRIX[(method, template)]
    path, body = entry.path(world), entry.body(world)
    assert re.fullmatch(re.sub(r"\{\w+\}", r"[^/]+", template), "/api" + path), (template, path)
    for role in ROLES:
        for scope in ("read", "write"):
            client = world.clients[(role, scope)]
            response = rolled_back(client, method, path, body)
            status, where = response.status_code, f"{method} {path} as {role} ({scope} token)"
            if method not in SAFE and scope == "read":
                assert status == 403 and response.json()["error"]["code"] == "insufficient_scope", where
            elif role in entry.allowed:
                assert status < 400 or status in (409, 422), (
                    f"{where}: refused with {status} {response.content[:200]}"
                )
            else:
                assert status in (403, 404), f"{where}: allowed ({status})"
                if status == 404:
                    assert entry.unknown is not None, f"{where}: 404 on an operation that reads no record"
                    unknown = rolled_back(client, method, entry.unknown(world), body)
                    assert (unknown.status_code, unknown.json()) == (404, response.json()), where
