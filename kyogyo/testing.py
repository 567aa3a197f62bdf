"""Shared test fixtures, loaded for every test by the root conftest.py: the default
configuration and a few named people built in code.

Times are fixed (``T0`` is Monday 2026-04-06 10:00 in Tokyo) so SLA arithmetic is
hand-checkable; helpers never read the wall clock.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

TOKYO = ZoneInfo("Asia/Tokyo")
T0 = dt.datetime(2026, 4, 6, 10, 0, tzinfo=TOKYO)


def local(*parts: int) -> dt.datetime:
    """A naive company-local time, as the analytics snapshot stores times."""
    return dt.datetime(*parts, tzinfo=TOKYO).replace(tzinfo=None)  # type: ignore[misc]


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres`` run only when the suite runs against PostgreSQL."""
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    skip = pytest.mark.skip(reason="needs PostgreSQL (run with DATABASE_URL=postgres://…)")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def default_language():
    """A page request may leave its reader's language active in the thread (Django's locale
    middleware does not reset it): every test starts and ends in the default language."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.activate("en")


@pytest.fixture(autouse=True)
def fresh_webhook_subscriptions():
    """Which events endpoints want is kept per process for a while; a test's endpoints are
    rolled back without a signal, so every test starts with the list read again."""
    from kyogyo.webhooks.actions import forget_subscriptions

    forget_subscriptions()
    yield
    forget_subscriptions()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Real hashing costs seconds per user; tests need speed, not strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def defaults(db):
    """The default teams, stages, reasons, rules, scoring and calendar."""
    from kyogyo.ops.defaults import install_defaults

    install_defaults(now=T0 - dt.timedelta(days=400))


@pytest.fixture
def people(defaults):
    """Named users: a marketer, two inside-sales reps, two field-sales reps, a CSM,
    a manager (inside sales), an admin and an outsider without a team."""
    from kyogyo.org.models import Team, User

    teams = {t.key: t for t in Team.objects.all()}

    def user(username: str, team: str | None, role: str = User.Role.MEMBER) -> User:
        return User.objects.create_user(
            username=username, password="pw-" + username, team=teams[team] if team else None, role=role
        )

    return SimpleNamespace(
        marketer=user("marketer", Team.MARKETING),
        is_rep=user("is_rep", Team.INSIDE_SALES),
        is_rep2=user("is_rep2", Team.INSIDE_SALES),
        fs_rep=user("fs_rep", Team.FIELD_SALES),
        fs_rep2=user("fs_rep2", Team.FIELD_SALES),
        csm=user("csm", Team.CUSTOMER_SUCCESS),
        manager=user("manager", Team.INSIDE_SALES, User.Role.MANAGER),
        admin=user("admin", None, User.Role.ADMIN),
        outsider=user("outsider", None),
    )


@pytest.fixture
def make_contact(defaults):
    """Create a person (and their company) through the actions; the journey starts as lead."""
    from kyogyo.customers import actions

    counter = iter(range(1, 1_000_000))

    def make(
        *,
        at: dt.datetime = T0,
        employees: int | None = 500,
        industry: str = "software",
        country: str = "JP",
        title: str = "IT Manager",
        email: str | None = None,
        kind: str = "prospect",
        account: bool = True,
        **extra,
    ):
        n = next(counter)
        company = None
        if account:
            company = actions.create_account(
                at=at,
                name=f"Company {n}",
                domain=f"company{n}.example.jp",
                industry=industry,
                employee_count=employees,
                country=country,
                kind=kind,
            )
        return actions.create_contact(
            at=at,
            account=company,
            email=email or f"person{n}@company{n}.example.jp",
            title=title,
            **{"first_name": "Test", "last_name": f"Person{n}", **extra},
        )

    return make


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def snapshot_dir(settings, tmp_path):
    """Every test has an analytics snapshot directory of its own (never ./var/snapshot), so
    no generation is shared between tests."""
    from kyogyo.analytics.snapshot import forget_cached

    settings.KYOGYO_SNAPSHOT_DIR = tmp_path / "snapshot"
    forget_cached()
    yield settings.KYOGYO_SNAPSHOT_DIR
    forget_cached()


@pytest.fixture
def analytics(snapshot_dir):
    """``analytics(as_of=None)`` refreshes the snapshot and returns a metric context over it."""
    from kyogyo.analytics import snapshot
    from kyogyo.analytics.metrics.base import Context

    def build(as_of: dt.datetime | None = None):
        snapshot.refresh()
        return Context.create(snapshot.open_current(), as_of=as_of)

    return build


@pytest.fixture
def walk(people):
    """``walk(contact, [("mql", at), ("sal", at), …])`` moves a person along the journey as the
    teams would: a move to a handoff's accept-to stage accepts the open handoff (by the rep it
    was routed to), ``("reject:REASON", at)`` rejects it, ``("disqualified", at)`` uses the
    first disqualify reason; other moves are made by the system."""
    from kyogyo.handoffs.actions import accept_handoff, reject_handoff
    from kyogyo.handoffs.models import Handoff
    from kyogyo.journey.actions import advance
    from kyogyo.journey.models import ReasonCode

    def run(contact, steps):
        for stage, at in steps:
            handoff = Handoff.objects.filter(subject=contact, status=Handoff.Status.OPEN).first()
            if stage.startswith("reject:"):
                reason = ReasonCode.objects.get(kind=ReasonCode.Kind.REJECT, key=stage.split(":", 1)[1])
                reject_handoff(handoff, actor=handoff.assigned_to or people.manager, reason=reason, at=at)
            elif handoff is not None:
                accept_handoff(handoff, actor=handoff.assigned_to or people.manager, at=at)
            else:
                reason = None
                if stage == "disqualified":
                    reason = ReasonCode.objects.filter(kind=ReasonCode.Kind.DISQUALIFY).first()
                advance(contact, stage, via="system", at=at, reason=reason)
        return contact

    return run


class ApiClient:
    """A test client whose every request carries ``Authorization: Bearer <token>``; paths
    are relative to ``/api``."""

    def __init__(self, token: str):
        from django.test import Client

        self.token = token
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def get(self, path: str, params: dict | None = None, **headers: str):
        return self.client.get("/api" + path, params or {}, headers=headers)

    def post(self, path: str, body=None, **headers: str):
        return self.client.post("/api" + path, body or {}, content_type="application/json", headers=headers)

    def patch(self, path: str, body=None, **headers: str):
        return self.client.patch("/api" + path, body or {}, content_type="application/json", headers=headers)

    def delete(self, path: str, **headers: str):
        return self.client.delete("/api" + path, headers=headers)


@pytest.fixture
def api(people):
    """``api(people.is_rep)`` is an API client with a fresh write token of that user
    (``scope="read"`` for a read token)."""
    from kyogyo.api.actions import create_token

    def make(user, scope: str = "write") -> ApiClient:
        _, plain = create_token(user, name="test", scope=scope, actor=user)
        return ApiClient(plain)

    return make


@pytest.fixture(scope="session")
def scratch_postgres(tmp_path_factory):
    """A PostgreSQL cluster of the tests' own (``kyogyo.ops.faults.ScratchCluster``), which
    they may crash and restart; the shared server is never touched. Its template database
    holds a migrated, initialised Kyogyo; ``scratch_postgres.create_database(name)`` copies it."""
    from kyogyo.ops import faults

    try:
        cluster = faults.ScratchCluster()
    except faults.ClusterUnavailable as exc:
        pytest.skip(f"no throwaway PostgreSQL cluster: {exc}")
    try:
        cluster.start()
        cluster.execute(f'CREATE DATABASE "{faults.TEMPLATE}"')
        env = faults.kyogyo_env(cluster.url(faults.TEMPLATE), tmp_path_factory.mktemp("template-data"))
        faults.run_kyogyo(env, "init", "--no-input")
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def fault_seed():
    """The seed of this test's fault points; printed, so a failure can be replayed with
    ``KYOGYO_FAULT_SEED=N``."""
    from kyogyo.ops.faults import fault_seed

    seed = fault_seed()
    print(f"fault seed: {seed} (replay with KYOGYO_FAULT_SEED={seed})")
    return seed
