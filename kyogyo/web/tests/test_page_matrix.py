"""Who may open and post to which page: every routed page of the web app (everything but
the admin, the API and the public intake, which have their own matrices) × every role ×
read (GET) and write (POST). A page without an entry in PAGES fails the suite, so a new
page is never shipped without saying who may use it.

Expected answers: allowed → neither 403 nor 404 (nor a server error); denied → 403 or 404
(unknown and forbidden look alike where the page says so); not signed in → the sign-in page
(a redirect to /login/), except for public pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from kyogyo.handoffs.models import Handoff

ROLES = ("anonymous", "marketer", "is_rep", "fs_rep", "csm", "manager", "admin", "outsider")
SIGNED_IN = frozenset(ROLES) - {"anonymous"}
MEMBERS = frozenset({"marketer", "is_rep", "fs_rep", "csm", "manager", "admin"})  # can_read_records
ADMINS = frozenset({"admin"})
PUBLIC = frozenset(ROLES)
NOBODY: frozenset[str] = frozenset()

# The matrix does not cover these: they have matrices of their own (the API) or are public
# by design and tested where they live (intake, CSP reports, static files).
SKIPPED_NAMESPACES = {"admin", "api", "intake"}
SKIPPED_NAMES = {"healthz", "web:csp_report"}


@dataclass(frozen=True)
class Page:
    read: frozenset[str] = NOBODY
    write: frozenset[str] = NOBODY
    args: Callable[[SimpleNamespace], list[Any]] = field(default=lambda data: [])
    data: dict[str, str] = field(default_factory=dict)
    public: bool = False  # anonymous visitors are served, not sent to sign in


PAGES: dict[str, Page] = {
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
}


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
def data(people, make_contact, walk):
    contact = make_contact(at=timezone.now())
    walk(contact, [("mql", timezone.now())])
    handoff = Handoff.objects.get(subject=contact, status=Handoff.Status.OPEN)
    return SimpleNamespace(people=people, contact=contact, account=contact.account, handoff=handoff)


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
