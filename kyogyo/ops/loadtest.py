"""A bounded load test against a locally started server (loopback only): many signed-in
users reading pages and the API at once (p50/p95 per kind), then bursts at the rate limits
(API per token, sign-in per address) to see that each lets through its stated number —
within 10% — and refuses the rest with 429. Bounded by a request count and a duration.

Meant for the 1,000,000-person demo on PostgreSQL (``kyogyo bench load``)."""

from __future__ import annotations

import os
import random
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import httpx

from kyogyo.api.actions import create_token, revoke_token
from kyogyo.api.bench import _free_port, _wait_until_up
from kyogyo.web.bench import BENCH_USER, _bench_user, _routed_pages, _sign_in


@dataclass
class KindFigures:
    kind: str
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float


@dataclass
class LimitFigures:
    limit: str
    stated: int
    window_seconds: int
    sent: int
    let_through: int
    refused_429: int
    within_10_percent: bool


@dataclass
class LoadFigures:
    users: int
    seconds: float
    requests: int
    think_seconds: float = 0.0
    reads_per_second: float = 0.0
    reads: list[KindFigures] = field(default_factory=list)
    limits: list[LimitFigures] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


@contextmanager
def local_server(env_overrides: dict[str, str], threads: int) -> Iterator[str]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kyogyo.cli",
            "serve",
            "--addr",
            f"127.0.0.1:{port}",
            "--threads",
            str(threads),
        ],
        env={**os.environ, **env_overrides},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_until_up(base, server)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * share))], 1) if ordered else 0.0


API_READS = (
    "/api/contacts?limit=50",
    "/api/accounts?limit=50",
    "/api/handoffs?limit=50",
    "/api/deals?limit=50",
)


def _read_load(
    base: str, password: str, token: str, users: int, seconds: float, budget: int, think: float
) -> list[KindFigures]:
    pages = [path for _name, path in _routed_pages()]
    timings: dict[str, list[float]] = {"page": [], "api": []}
    errors = {"page": 0, "api": 0}
    lock = threading.Lock()
    sent = [0]
    clients = []
    for _ in range(users):  # everyone signs in before the clock starts
        http = httpx.Client(base_url=base, timeout=120)
        _sign_in(http, password)
        clients.append(http)
    deadline = time.monotonic() + seconds

    def user(n: int) -> None:
        rng = random.Random(n)
        http = clients[n]
        while time.monotonic() < deadline:
            with lock:
                if sent[0] >= budget:
                    return
                sent[0] += 1
            kind = "api" if rng.random() < 0.4 else "page"
            path = rng.choice(API_READS if kind == "api" else pages)
            headers = {"Authorization": f"Bearer {token}"} if kind == "api" else {}
            started = time.perf_counter()
            answer = http.get(path, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                timings[kind].append(elapsed)
                if answer.status_code >= 400:
                    errors[kind] += 1
            # People read a page before the next click; without a pause 50 "users" would be 50
            # requests always in flight, a stress test of a different load.
            if think:
                time.sleep(min(rng.uniform(think / 2, think * 1.5), max(0.0, deadline - time.monotonic())))

    threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for http in clients:
            http.close()
    return [
        KindFigures(kind, len(values), errors[kind], _percentile(values, 0.5), _percentile(values, 0.95))
        for kind, values in timings.items()
    ]


def _at_window_start(window: int) -> None:
    """Wait for a fresh fixed window, so a burst is counted in one window only."""
    time.sleep(window - (time.time() % window) + 0.05)


def _burst(send, count: int, workers: int = 10) -> list[tuple[float, int]]:  # type: ignore[no-untyped-def]
    """(answer time, status) of ``count`` requests sent by ``workers`` threads."""
    statuses: list[tuple[float, int]] = []
    lock = threading.Lock()
    queue = list(range(count))

    def work() -> None:
        while True:
            with lock:
                if not queue:
                    return
                item = queue.pop()
            status = send(item)
            with lock:
                statuses.append((time.time(), status))

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def _limit_figures(name: str, stated: int, window: int, answers: list[tuple[float, int]]) -> LimitFigures:
    """Judge each fixed window that was saturated (had a 429): it must have let through the
    stated number, within 10%. A burst slower than a window spreads over several."""
    per_window: dict[int, list[int]] = {}
    for at, status in answers:
        per_window.setdefault(int(at // window), []).append(status)
    saturated = [statuses for statuses in per_window.values() if 429 in statuses]
    through = [sum(1 for s in statuses if s != 429) for statuses in saturated]
    statuses = [s for _at, s in answers]
    return LimitFigures(
        limit=name,
        stated=stated,
        window_seconds=window,
        sent=len(statuses),
        let_through=max(through, default=sum(1 for s in statuses if s != 429)),
        refused_429=statuses.count(429),
        within_10_percent=bool(through) and all(abs(t - stated) <= stated * 0.1 for t in through),
    )


def _limits(
    base: str, token: str, api_limit: int, login_limit: int, window: int, login_window: int
) -> list[LimitFigures]:
    figures = []
    with httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"}) as http:
        _at_window_start(window)
        statuses = _burst(lambda _n: http.get("/api/me").status_code, api_limit * 3)
        figures.append(_limit_figures("API requests per token", api_limit, window, statuses))
    with httpx.Client(base_url=base, timeout=60) as http:
        form = http.get("/login/")
        marker = 'name="csrfmiddlewaretoken" value="'
        form_token = form.text.split(marker, 1)[1].split('"', 1)[0] if marker in form.text else ""

        def attempt(n: int) -> int:
            return http.post(
                "/login/",
                data={"username": f"load-{n}", "password": "wrong", "csrfmiddlewaretoken": form_token},
                headers={"Referer": base + "/login/"},
            ).status_code

        _at_window_start(login_window)
        statuses = _burst(attempt, login_limit * 2)
        figures.append(_limit_figures("sign-in attempts per address", login_limit, login_window, statuses))
    return figures


def run(
    users: int = 50, seconds: float = 30, max_requests: int = 20_000, threads: int = 16, think: float = 2.0
) -> LoadFigures:
    if users < 1 or seconds <= 0 or max_requests < 1 or threads < 1 or think < 0:
        raise ValueError(
            "--users, --seconds, --max-requests and --threads must be positive, --think 0 or more"
        )
    password = secrets.token_urlsafe(16)
    user = _bench_user(password)
    token, plain = create_token(user, name="load test", scope="read", actor=user)
    started = time.perf_counter()
    try:
        unlimited = {"KYOGYO_API_RATE_LIMIT": "100000000/60", "KYOGYO_LOGIN_RATE_LIMIT": "100000/60"}
        with local_server(unlimited, threads) as base:
            read_started = time.perf_counter()
            reads = _read_load(base, password, plain, users, seconds, max_requests, think)
            read_seconds = time.perf_counter() - read_started
        # Each wrong password costs a full password hash (~0.3 s of a core), so the sign-in
        # burst gets a longer window to be able to fill it.
        window, api_limit, login_window, login_limit = 10, 200, 60, 40
        limited = {
            "KYOGYO_API_RATE_LIMIT": f"{api_limit}/{window}",
            "KYOGYO_LOGIN_RATE_LIMIT": f"{login_limit}/{login_window}",
        }
        with local_server(limited, threads) as base:
            limits = _limits(base, plain, api_limit, login_limit, window, login_window)
    finally:
        revoke_token(token, actor=user)
        type(user).objects.filter(username=BENCH_USER).update(is_active=False)
    return LoadFigures(
        users=users,
        seconds=round(time.perf_counter() - started, 1),
        requests=sum(r.requests for r in reads),
        think_seconds=think,
        reads_per_second=round(sum(r.requests for r in reads) / read_seconds, 1),
        reads=reads,
        limits=limits,
    )
