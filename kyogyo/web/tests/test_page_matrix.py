"""Who may open and post to which page: every routed page of the web app (everything but
the admin, the API and the public intake, which have their own matrices) × every role ×
read (GET) and write (POST). A page without an entry in PAGES fails the suite, so a new
page is never shipped without saying who may use it.

Expected answers: allowed → neither 403 nor 404 (nor a server error); denied → 403 or 404
(unknown and forbidden look alike where the page says so); not signed in → the sign-in page
(a redirect to /login/), except for public pages."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from kyogyo.handoffs.models import Handoff
from kyogyo.web.tests.matrix import ADMINS, MEMBERS, PUBLIC, ROLES, SIGNED_IN, UPLOADER, Page

# The matrix does not cover these: they have matrices of their own (the API) or are public
# by design and tested where they live (intake, CSP reports, static files).
SKIPPED_NAMESPACES = {"admin", "api", "intake"}
SKIPPED_NAMES = {"healthz", "web:csp_report"}

CORE_PAGES: dict[str, Page] = {
    "web:home": Page(read=SIGNED_IN),
    "web:login": Page(read=PUBLIC, write=PUBLIC, public=True),
    "web:logout": Page(write=PUBLIC, public=True),
    "web:password_reset": Page(read=PUBLIC, write=PUBLIC, public=True),
    "web:password_reset_done": Page(read=PUBLIC, public=True),
    "web:password_reset_confirm": Page(read=PUBLIC, write=PUBLIC, public=True, args=lambda d: ["MQ", "x-y"]),
    "web:password_reset_complete": Page(read=PUBLIC, public=True),
    "web:password_change": Page(read=SIGNED_IN, write=SIGNED_IN),
    "web:password_change_done": Page(read=SIGNED_IN),
    "web:preferences": Page(read=SIGNED_IN, write=SIGNED_IN),
    "web:set_language": Page(write=PUBLIC, public=True, data={"language": "en"}),
    "web:settings": Page(read=ADMINS),
    "handoffs:accept": Page(write=frozenset({"is_rep", "manager", "admin"}), args=lambda d: [d.handoff.pk]),
    "handoffs:reject": Page(write=frozenset({"is_rep", "manager", "admin"}), args=lambda d: [d.handoff.pk]),
    # Settings (docs/web/settings.md): admins only, except tokens (everyone's own) and imports (members).
    "settings:users": Page(read=ADMINS, write=ADMINS),
    "settings:user": Page(read=ADMINS, write=ADMINS, args=lambda d: [d.people.is_rep.pk]),
    "settings:user_active": Page(write=ADMINS, args=lambda d: [d.people.is_rep.pk], data={"active": "1"}),
    "settings:team": Page(read=ADMINS, write=ADMINS, args=lambda d: [d.people.is_rep.team_id]),
    "settings:stages": Page(read=ADMINS),
    "settings:stage": Page(read=ADMINS, write=ADMINS, args=lambda d: [d.settings.stage.pk]),
    "settings:rule_new": Page(read=ADMINS, write=ADMINS),
    "settings:rule": Page(read=ADMINS, write=ADMINS, args=lambda d: ["dq-partner"]),
    "settings:rule_active": Page(write=ADMINS, args=lambda d: ["dq-partner"], data={"active": "1"}),
    "settings:reasons": Page(read=ADMINS, write=ADMINS),
    "settings:reason": Page(read=ADMINS, write=ADMINS, args=lambda d: [d.settings.reason.pk]),
    "settings:sla": Page(read=ADMINS, write=ADMINS),
    "settings:stage_sla": Page(write=ADMINS, args=lambda d: [d.settings.stage.pk]),
    "settings:add_exception": Page(write=ADMINS),
    "settings:remove_exception": Page(write=ADMINS, args=lambda d: [d.settings.exception.pk]),
    "settings:add_routing_rule": Page(write=ADMINS),
    "settings:routing_rule_active": Page(
        write=ADMINS, args=lambda d: [d.settings.routing_rule.pk], data={"active": "1"}
    ),
    "settings:scoring": Page(read=ADMINS, write=ADMINS),
    "settings:fit_rule": Page(read=ADMINS, write=ADMINS, args=lambda d: [d.settings.fit_rule.pk]),
    "settings:targets": Page(read=ADMINS, write=ADMINS),
    "settings:delete_target": Page(write=ADMINS, args=lambda d: [d.settings.target.pk]),
    "settings:tokens": Page(read=SIGNED_IN, write=SIGNED_IN),
    "settings:revoke_token": Page(write=frozenset({"is_rep", "admin"}), args=lambda d: [d.settings.token.pk]),
    "settings:webhooks": Page(read=ADMINS, write=ADMINS),
    "settings:webhook": Page(read=ADMINS, write=ADMINS, args=lambda d: [d.settings.endpoint.pk]),
    "settings:webhook_active": Page(
        write=ADMINS, args=lambda d: [d.settings.endpoint.pk], data={"active": "1"}
    ),
    "settings:rotate_secret": Page(write=ADMINS, args=lambda d: [d.settings.endpoint.pk]),
    "settings:retry_delivery": Page(write=ADMINS, args=lambda d: [d.settings.delivery.pk]),
    "imports:list": Page(read=MEMBERS, write=MEMBERS),
    "imports:detail": Page(read=UPLOADER, args=lambda d: [d.settings.upload.pk]),
    "imports:progress": Page(read=UPLOADER, args=lambda d: [d.settings.upload.pk]),
    "imports:run": Page(write=UPLOADER, args=lambda d: [d.settings.upload.pk]),
    "imports:errors": Page(read=UPLOADER, args=lambda d: [d.settings.upload.pk]),
}


def collected_pages() -> dict[str, Page]:
    """The core entries above plus every area's `kyogyo/<app>/tests/page_access*.py`."""
    pages = dict(CORE_PAGES)
    for app in apps.get_app_configs():
        if not app.name.startswith("kyogyo."):
            continue
        for path in sorted(Path(app.path, "tests").glob("page_access*.py")):
            module_name = f"{app.name}.tests.{path.stem}"
            module = importlib.import_module(module_name)
            clash = pages.keys() & module.PAGES.keys()
            assert not clash, f"{module_name} repeats entries: {sorted(clash)}"
            pages.update(module.PAGES)
    return pages


PAGES = collected_pages()


def routed_names() -> list[str]:
    names = []

    def walk(patterns: list[Any], namespace: str | None) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace in SKIPPED_NAMESPACES:
                    continue
                inner = pattern.namespace or namespace
                if namespace and pattern.namespace:
                    inner = f"{namespace}:{pattern.namespace}"
                walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names.append(f"{namespace}:{pattern.name}" if namespace else pattern.name)

    walk(get_resolver().url_patterns, None)
    return sorted(set(names) - SKIPPED_NAMES)


def test_every_page_has_an_entry():
    missing = [name for name in routed_names() if name not in PAGES]
    assert not missing, f"pages without an access entry in PAGES: {missing}"
    stale = [name for name in PAGES if name not in routed_names()]
    assert not stale, f"entries for pages that no longer exist: {stale}"


@pytest.fixture
def data(people, make_contact, walk, tmp_path):
    contact = make_contact(at=timezone.now())
    walk(contact, [("mql", timezone.now())])
    handoff = Handoff.objects.get(subject=contact, status=Handoff.Status.OPEN)
    return SimpleNamespace(
        people=people,
        contact=contact,
        account=contact.account,
        handoff=handoff,
        settings=settings_records(people, tmp_path),
    )


def settings_records(people: SimpleNamespace, tmp_path: Any) -> SimpleNamespace:
    """One of each record the settings pages act on."""
    import datetime as dt
    import uuid

    from kyogyo.analytics.models import Target
    from kyogyo.api.actions import create_token
    from kyogyo.handoffs.models import BusinessCalendar, CalendarException, RoutingRule
    from kyogyo.imports.models import ImportUpload
    from kyogyo.journey.models import ReasonCode, Stage
    from kyogyo.scoring.models import FitRule
    from kyogyo.webhooks.models import Delivery, Endpoint

    calendar, _ = BusinessCalendar.objects.get_or_create(pk=1, defaults={"weekdays": [0, 1, 2, 3, 4]})
    endpoint = Endpoint.objects.create(url="https://hooks.invalid/in", secret="s" * 32, events=["*"])
    routing_rule = RoutingRule.objects.create(team=people.is_rep.team, name="pool")
    routing_rule.users.set([people.is_rep])
    errors = tmp_path / "errors.csv"
    errors.write_text("line,column,code,message\n", encoding="utf-8")
    return SimpleNamespace(
        stage=Stage.objects.get(key="mql"),
        reason=ReasonCode.objects.first(),
        exception=CalendarException.objects.create(
            calendar=calendar, date=dt.date(2026, 12, 31), name="omisoka"
        ),
        routing_rule=routing_rule,
        fit_rule=FitRule.objects.first(),
        target=Target.objects.create(
            metric="revenue", starts_on=dt.date(2026, 4, 1), ends_on=dt.date(2027, 3, 31), value=1
        ),
        token=create_token(people.is_rep, name="tool", scope="read", actor=people.is_rep)[0],
        endpoint=endpoint,
        delivery=Delivery.objects.create(
            endpoint=endpoint, event_id=uuid.uuid4(), event_type="deal.won", body="{}", status="failed"
        ),
        upload=ImportUpload.objects.create(
            user=people.marketer,
            kind="contacts",
            preset="generic",
            file_name="leads.csv",
            stored_path=str(tmp_path / "leads.csv"),
            size=1,
            status="done",
            summary={"created": 0, "errors": 1, "error_file": str(errors)},
        ),
    )


def _answer(client: Any, data: SimpleNamespace, role: str, method: str, name: str, page: Page) -> Any:
    client.logout()
    if role != "anonymous":
        client.force_login(getattr(data.people, role))
    url = reverse(name, args=page.args(data))
    if method == "GET":
        return client.get(url)
    return client.post(url, page.data)


def _check(response: Any, role: str, allowed: bool, page: Page, where: str) -> None:
    status = response.status_code
    assert status < 500, f"{where}: server error {status}"
    if role == "anonymous" and not page.public:
        assert status == 302 and response["Location"].startswith("/login/"), (
            f"{where}: {status}, not sent to sign in"
        )
    elif allowed:
        assert status not in (403, 404), f"{where}: refused ({status}) but the matrix allows it"
    elif status != 405:
        assert status in (403, 404), f"{where}: answered {status} but the matrix denies it"


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_access(client, data, name):
    page = PAGES[name]
    for method, allowed_roles in (("GET", page.read), ("POST", page.write)):
        for role in ROLES:
            response = _answer(client, data, role, method, name, page)
            allowed = role in allowed_roles
            if not allowed and not allowed_roles and role != "anonymous":
                # nobody may use this method here: a 405 (or 403/404) is the right answer
                assert response.status_code in (403, 404, 405) or (
                    name == "web:login" and response.status_code == 302
                ), f"{method} {name} as {role}: {response.status_code}"
                continue
            _check(response, role, allowed, page, f"{method} {name} as {role}")
