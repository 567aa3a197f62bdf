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
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from kyogyo.api.actions import create_token
from kyogyo.api.site import api as ninja_api
from kyogyo.imports.models import ImportUpload
from kyogyo.marketing.models import Activity, Campaign
from kyogyo.testing import T0, ApiClient

ROLES = ["marketer", "is_rep", "fs_rep", "csm", "manager", "admin", "outsider"]
MEMBERS = frozenset(ROLES) - {"outsider"}
EVERYONE = frozenset(ROLES)
LEAD_OWNERS = frozenset({"marketer", "manager", "admin"})  # a lead is Marketing's stage
INSIDE_SALES = frozenset({"is_rep", "manager", "admin"})  # SAL is theirs; MQL handoffs come to them
DEAL_EDITORS = frozenset({"fs_rep", "manager", "admin"})  # the owner's team (Field Sales) or a manager
SUCCESS = frozenset({"csm", "manager", "admin"})
UPLOAD_READERS = frozenset({"marketer", "manager", "admin"})  # the uploader and managers
SAFE = {"GET", "HEAD", "OPTIONS"}
HOUR = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Entry:
    allowed: frozenset[str]
    path: Callable[[Any], str]  # the path for this world, ids filled in
    body: Callable[[Any], Any] = field(default=lambda w: None)
    # For operations on one record: refused readers get 404, like an unknown id.
    unknown: Callable[[Any], str] | None = None
    multipart: bool = False  # the body is form fields and files, not JSON


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
    # deals: a deal opened by qualifying a person; its owner is a Field Sales rep
    ("GET", "/api/deals"): Entry(MEMBERS, lambda w: "/deals"),
    ("POST", "/api/deals"): Entry(
        INSIDE_SALES,
        lambda w: "/deals",
        lambda w: {"contact_id": w.sal.pk, "name": "Pilot", "amount": 100_000},
    ),
    ("GET", "/api/deals/{deal_id}"): Entry(
        MEMBERS, lambda w: f"/deals/{w.deal.pk}", unknown=lambda w: "/deals/987654"
    ),
    ("PATCH", "/api/deals/{deal_id}"): Entry(
        DEAL_EDITORS,
        lambda w: f"/deals/{w.deal.pk}",
        lambda w: {"name": "Renamed"},
        lambda w: "/deals/987654",
    ),
    ("POST", "/api/deals/{deal_id}/move"): Entry(
        DEAL_EDITORS,
        lambda w: f"/deals/{w.deal.pk}/move",
        lambda w: {"stage": w.next_pipeline_stage},
        lambda w: "/deals/987654/move",
    ),
    ("POST", "/api/deals/{deal_id}/win"): Entry(
        DEAL_EDITORS, lambda w: f"/deals/{w.deal.pk}/win", lambda w: {}, lambda w: "/deals/987654/win"
    ),
    ("POST", "/api/deals/{deal_id}/lose"): Entry(
        DEAL_EDITORS,
        lambda w: f"/deals/{w.deal.pk}/lose",
        lambda w: {"reason": w.loss_reason},
        lambda w: "/deals/987654/lose",
    ),
    ("GET", "/api/pipeline-stages"): Entry(MEMBERS, lambda w: "/pipeline-stages"),
    # subscriptions and NPS: Customer Success's side of the record
    ("GET", "/api/subscriptions"): Entry(MEMBERS, lambda w: "/subscriptions"),
    ("POST", "/api/subscriptions"): Entry(
        SUCCESS,
        lambda w: "/subscriptions",
        lambda w: {"account_id": w.lead.account_id, "plan": "Team", "mrr": 5_000, "starts_on": "2026-11-01"},
    ),
    ("GET", "/api/subscriptions/{subscription_id}"): Entry(
        MEMBERS, lambda w: f"/subscriptions/{w.subscription.pk}", unknown=lambda w: "/subscriptions/987654"
    ),
    ("POST", "/api/subscriptions/{subscription_id}/mrr"): Entry(
        SUCCESS,
        lambda w: f"/subscriptions/{w.subscription.pk}/mrr",
        lambda w: {"mrr": 20_000},
        lambda w: "/subscriptions/987654/mrr",
    ),
    ("POST", "/api/subscriptions/{subscription_id}/renew"): Entry(
        SUCCESS,
        lambda w: f"/subscriptions/{w.subscription.pk}/renew",
        lambda w: {},
        lambda w: "/subscriptions/987654/renew",
    ),
    ("POST", "/api/subscriptions/{subscription_id}/churn"): Entry(
        SUCCESS,
        lambda w: f"/subscriptions/{w.subscription.pk}/churn",
        lambda w: {},
        lambda w: "/subscriptions/987654/churn",
    ),
    ("GET", "/api/subscriptions/{subscription_id}/changes"): Entry(
        MEMBERS,
        lambda w: f"/subscriptions/{w.subscription.pk}/changes",
        unknown=lambda w: "/subscriptions/987654/changes",
    ),
    ("GET", "/api/nps"): Entry(MEMBERS, lambda w: "/nps"),
    ("POST", "/api/nps"): Entry(SUCCESS, lambda w: "/nps", lambda w: {"contact_id": w.lead.pk, "score": 9}),
    # a record's history: whoever may read the record
    ("GET", "/api/history/{kind}/{record_id}"): Entry(
        MEMBERS, lambda w: f"/history/deals/{w.deal.pk}", unknown=lambda w: "/history/deals/987654"
    ),
    # handoffs: the MQL's handoff goes to Inside Sales
    ("GET", "/api/handoffs"): Entry(MEMBERS, lambda w: "/handoffs"),
    ("GET", "/api/handoffs/{handoff_id}"): Entry(
        MEMBERS, lambda w: f"/handoffs/{w.handoff.pk}", unknown=lambda w: "/handoffs/987654"
    ),
    ("POST", "/api/handoffs/{handoff_id}/accept"): Entry(
        INSIDE_SALES,
        lambda w: f"/handoffs/{w.handoff.pk}/accept",
        lambda w: {},
        lambda w: "/handoffs/987654/accept",
    ),
    ("POST", "/api/handoffs/{handoff_id}/reject"): Entry(
        INSIDE_SALES,
        lambda w: f"/handoffs/{w.handoff.pk}/reject",
        lambda w: {"reason": w.reject_reason},
        lambda w: "/handoffs/987654/reject",
    ),
    # configuration and numbers: read by every member
    ("GET", "/api/stages"): Entry(MEMBERS, lambda w: "/stages"),
    ("GET", "/api/reasons"): Entry(MEMBERS, lambda w: "/reasons"),
    ("GET", "/api/rules"): Entry(MEMBERS, lambda w: "/rules"),
    ("GET", "/api/rules/{rule_id}"): Entry(
        MEMBERS, lambda w: f"/rules/{w.rule.pk}", unknown=lambda w: "/rules/987654"
    ),
    ("GET", "/api/reports"): Entry(MEMBERS, lambda w: "/reports"),
    ("GET", "/api/reports/{name}"): Entry(MEMBERS, lambda w: "/reports/waterfall"),
    ("POST", "/api/plan"): Entry(
        MEMBERS, lambda w: "/plan", lambda w: {"target": 12_000_000, "period": "FY2026"}
    ),
    ("GET", "/api/snapshot"): Entry(MEMBERS, lambda w: "/snapshot"),
    # imports: the marketer's upload is theirs and the managers' to see
    ("GET", "/api/imports"): Entry(MEMBERS, lambda w: "/imports"),
    ("POST", "/api/imports"): Entry(
        MEMBERS,
        lambda w: "/imports",
        lambda w: {
            "kind": "contacts",
            "preset": "generic",
            "file": ("leads.csv", b"email\na@b.example.jp\n"),
        },
        multipart=True,
    ),
    ("GET", "/api/imports/{import_id}"): Entry(
        UPLOAD_READERS, lambda w: f"/imports/{w.upload.pk}", unknown=lambda w: "/imports/987654"
    ),
    ("GET", "/api/imports/{import_id}/errors"): Entry(
        UPLOAD_READERS, lambda w: f"/imports/{w.upload.pk}/errors", unknown=lambda w: "/imports/987654/errors"
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
def world(people, make_contact, walk, tmp_path, settings):
    from kyogyo.analytics import snapshot
    from kyogyo.deals.actions import qualify
    from kyogyo.deals.models import PipelineStage
    from kyogyo.handoffs.models import Handoff
    from kyogyo.journey.models import ReasonCode, Rule
    from kyogyo.success.actions import start_subscription

    lead = make_contact()
    mql = walk(make_contact(at=T0), [("mql", T0 + HOUR)])
    sal = walk(make_contact(at=T0), [("mql", T0 + HOUR), ("sal", T0 + 2 * HOUR)])
    qualified = walk(make_contact(at=T0), [("mql", T0 + HOUR), ("sal", T0 + 2 * HOUR)])
    deal = qualify(qualified, actor=people.is_rep, name="Pilot", amount=1_000_000, at=T0 + 3 * HOUR)
    subscription = start_subscription(lead.account, plan="Pro", mrr=10_000, starts_on=dt.date(2026, 5, 1))
    snapshot.refresh()
    settings.KYOGYO_IMPORT_DIR = tmp_path / "imports"
    errors_csv = tmp_path / "errors.csv"
    errors_csv.write_text("line,column,code,message\n2,email,bad_email,not an email\n")
    upload = ImportUpload.objects.create(
        user=people.marketer,
        kind="contacts",
        preset="generic",
        file_name="leads.csv",
        stored_path=str(tmp_path / "leads.csv"),
        size=10,
        status=ImportUpload.Status.DONE,
        summary={"created": 1, "updated": 0, "unchanged": 0, "errors": 1, "error_file": str(errors_csv)},
    )
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
        lead=lead,
        sal=sal,
        upload=upload,
        deal=deal,
        handoff=Handoff.objects.get(subject=mql, status=Handoff.Status.OPEN),
        subscription=subscription,
        rule=Rule.objects.order_by("pk").first(),
        next_pipeline_stage=PipelineStage.objects.filter(is_won=False, is_lost=False)
        .order_by("order")[1]
        .key,
        loss_reason=ReasonCode.objects.filter(kind=ReasonCode.Kind.LOSS).first().key,
        reject_reason=ReasonCode.objects.filter(kind=ReasonCode.Kind.REJECT).first().key,
        campaign=campaign,
        activity=activity,
        clients=clients,
        marketer_token=marketer_token,
    )


def send(client: ApiClient, method: str, path: str, body: Any, multipart: bool = False) -> Any:
    if multipart:
        fields = {k: SimpleUploadedFile(*v) if isinstance(v, tuple) else v for k, v in body.items()}
        return client.client.post("/api" + path, fields)
    if method == "GET":
        return client.get(path)
    if method == "DELETE":
        return client.delete(path)
    return getattr(client, method.lower())(path, body or {})


def rolled_back(client: ApiClient, method: str, path: str, body: Any, multipart: bool = False) -> Any:
    """Send the request and undo what it wrote, so every role meets the same world."""
    with transaction.atomic():
        result = send(client, method, path, body, multipart)
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
            response = rolled_back(client, method, path, body, entry.multipart)
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
                    unknown = rolled_back(client, method, entry.unknown(world), body, entry.multipart)
                    assert (unknown.status_code, unknown.json()) == (404, response.json()), where
