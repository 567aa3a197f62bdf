"""Benchmark of the main pages through a real server: ``kyogyo serve`` (waitress) in its own
process on the configured database (meant for the 1,000,000-person demo on PostgreSQL), a
signed-in manager's session over loopback HTTP, every main page requested N times after a
warm-up; figures per page: median, p95 and slowest response time, the status, and the first
warm-up request's time (what the first view after a snapshot refresh costs)."""

from __future__ import annotations

import os
import random
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import httpx
from django.urls import NoReverseMatch, reverse

from kyogyo.api.bench import _free_port, _wait_until_up
from kyogyo.org.models import Team, User

BENCH_USER = "bench-pages"


@dataclass(frozen=True)
class PageFigures:
    page: str
    path: str
    requests: int
    status: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    # the first request of the run (a warm-up, not in the percentiles): the reports a page
    # shows are worked out once per snapshot generation, on its first view after a refresh
    first_ms: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def _sample_pk(model_path: str) -> int | None:
    """A record from the middle of the table (not the first: caches would flatter it)."""
    from django.apps import apps

    model = apps.get_model(model_path)
    last = model.objects.order_by("-pk").values_list("pk", flat=True).first()
    if last is None:
        return None
    pick = random.Random(7).randint(1, last)
    return model.objects.filter(pk__gte=pick).order_by("pk").values_list("pk", flat=True).first()


def _with_pk(url_name: str, model_path: str) -> Callable[[], str | None]:
    def resolve() -> str | None:
        pk = _sample_pk(model_path)
        return None if pk is None else reverse(url_name, args=[pk])

    return resolve


def _plain(url_name: str, query: str = "") -> Callable[[], str | None]:
    return lambda: reverse(url_name) + query


# (name, how to build its path). Pages not routed in this build are left out.
PAGES: tuple[tuple[str, Callable[[], str | None]], ...] = (
    ("home", _plain("web:home")),
    ("people", _plain("customers:contacts")),
    ("people filtered by stage", _plain("customers:contacts", "?stage=mql")),
    ("companies", _plain("customers:accounts")),
    ("deals", _plain("deals:list")),
    ("handoffs", _plain("handoffs:list")),
    ("search", _plain("web:search", "?q=tanaka")),
    ("person", _with_pk("customers:contact", "customers.Contact")),
    ("company", _with_pk("customers:account", "customers.Account")),
    ("pipeline", _plain("deals:pipeline")),
    ("deal", _with_pk("deals:deal", "deals.Deal")),
    ("The Model dashboard", _plain("analytics:dashboard")),
    (
        "drill-down: people who became MQL",
        _plain("analytics:drilldown", "?metric=waterfall&measure=entered&stage=mql"),
    ),
    ("weekly review", _plain("analytics:review")),
    ("planning", _plain("analytics:plans")),
    ("customer success", _plain("success:home")),
    ("health check", _plain("healthcheck:list")),
    ("settings", _plain("web:settings")),
)


def _bench_user(password: str) -> User:
    user, _ = User.objects.get_or_create(
        username=BENCH_USER,
        defaults={"team": Team.objects.get(key=Team.INSIDE_SALES), "role": User.Role.ADMIN},
    )
    user.set_password(password)
    user.is_active = True
    user.save()
    return user


def _sign_in(http: httpx.Client, password: str) -> None:
    form = http.get("/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    if token is None:
        raise RuntimeError("the sign-in page has no CSRF token")
    answer = http.post(
        "/login/",
        data={"username": BENCH_USER, "password": password, "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": str(http.base_url) + "/login/"},
    )
    if answer.status_code != 302:
        raise RuntimeError(f"signing in failed: {answer.status_code}")


def _routed_pages() -> list[tuple[str, str]]:
    pages = []
    for name, build in PAGES:
        try:
            path = build()
        except NoReverseMatch:
            continue
        if path is not None:
            pages.append((name, path))
    return pages


def _percentile(sorted_ms: list[float], share: float) -> float:
    return sorted_ms[min(len(sorted_ms) - 1, int(len(sorted_ms) * share))]


def main_pages(requests: int = 20, warmup: int = 2) -> list[PageFigures]:
    password = secrets.token_urlsafe(16)
    _bench_user(password)
    pages = _routed_pages()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "kyogyo.cli", "serve", "--addr", f"127.0.0.1:{port}"],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    figures = []
    try:
        _wait_until_up(base, server)
        with httpx.Client(base_url=base, timeout=120, follow_redirects=False) as http:
            _sign_in(http, password)
            for name, path in pages:
                status = 0
                warmups = []
                for _ in range(warmup):
                    started = time.perf_counter()
                    http.get(path)
                    warmups.append((time.perf_counter() - started) * 1000)
                times = []
                for _ in range(requests):
                    started = time.perf_counter()
                    answer = http.get(path)
                    times.append((time.perf_counter() - started) * 1000)
                    status = answer.status_code
                times.sort()
                figures.append(
                    PageFigures(
                        page=name,
                        path=path,
                        requests=requests,
                        status=status,
                        p50_ms=round(_percentile(times, 0.5), 1),
                        p95_ms=round(_percentile(times, 0.95), 1),
                        max_ms=round(times[-1], 1),
                        first_ms=round(warmups[0], 1) if warmups else 0.0,
                    )
                )
    finally:
        server.terminate()
        server.wait(timeout=30)
        User.objects.filter(username=BENCH_USER).update(is_active=False)
    return figures
