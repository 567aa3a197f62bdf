"""Benchmark of the bulk activity endpoint through a real server: ``kyogyo serve`` (waitress)
in its own process on the configured database, batches posted over loopback HTTP with a
write token, the figure end to end — HTTP, JSON, validation, ``record_activities`` with
scores and stage rules, the transaction, the answer."""

from __future__ import annotations

import datetime as dt
import os
import random
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import httpx
from django.db import connection
from django.utils import timezone

from kyogyo.api.actions import create_token, revoke_token
from kyogyo.journey import rulebook
from kyogyo.journey.models import Milestone, Transition
from kyogyo.ops.bench import BURST_TYPES
from kyogyo.org.models import Team, User


@dataclass
class EndpointFigures:
    activities: int
    batch: int
    clients: int
    seconds: float
    activities_per_second: float
    transitions: int
    p50_batch_seconds: float
    p95_batch_seconds: float
    load_average: tuple[float, float]  # before and after
    # CPU time per 1,000 activities: the server process, and the database's backends serving
    # it (when the database runs on this machine). Less skewed by other work than the rate.
    server_cpu_ms_per_1000: float | None
    database_cpu_ms_per_1000: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(base: str, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server stopped: {server.stderr.read() if server.stderr else ''}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("the server did not answer within a minute")


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux); None where it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _database_backends() -> dict[int, float | None]:
    """CPU so far of each other connection to this database (PostgreSQL on this machine)."""
    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {pid: _cpu_seconds(pid) for (pid,) in cursor.fetchall()}


def _database_cpu(before: dict[int, float | None], after: dict[int, float | None]) -> float | None:
    if not after or any(v is None for v in after.values()):
        return None
    return sum((v or 0.0) - (before.get(pid) or 0.0) for pid, v in after.items())


def _per_1000(seconds: float | None, activities: int) -> float | None:
    return None if seconds is None else round(seconds * 1000 / activities * 1000, 1)


def _bench_user() -> User:
    user, _ = User.objects.get_or_create(
        username="bench-marketing", defaults={"team": Team.objects.get(key=Team.MARKETING)}
    )
    return user


def bulk_endpoint(activities: int, *, batch: int = 1000, clients: int = 2, seed: int = 7) -> EndpointFigures:
    book = rulebook.load()
    stage_ids = [book.stages.get(k).id for k in ("lead", "nurture")]
    subjects = list(
        Milestone.objects.filter(current_stage_id__in=stage_ids).values_list("subject_id", flat=True)[
            :200_000
        ]
    )
    if not subjects:
        raise RuntimeError("no people in lead or nurture: build a demo company first (kyogyo demo)")
    rng = random.Random(seed)
    now = timezone.now().replace(microsecond=0)
    batches = []
    for start in range(0, activities, batch):
        size = min(batch, activities - start)
        at = (now - dt.timedelta(seconds=activities - start)).isoformat()
        items = [
            {
                "contact_id": rng.choice(subjects),
                "type": rng.choice(BURST_TYPES),
                "occurred_at": at,
                "source": "bench",
            }
            for _ in range(size)
        ]
        batches.append({"items": items})
    token, plain = create_token(_bench_user(), name="bench", scope="write", actor=_bench_user())
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "KYOGYO_API_RATE_LIMIT": "100000000/60"}
    command = ["serve", "--addr", f"127.0.0.1:{port}", "--threads", str(max(clients, 2))]
    server = subprocess.Popen(
        [sys.executable, "-m", "kyogyo.cli", *command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    transitions_before = Transition.objects.count()
    try:
        _wait_until_up(base, server)
        headers = {"Authorization": f"Bearer {plain}"}
        with httpx.Client(base_url=base, headers=headers, timeout=300) as http:
            http.get("/api/me").raise_for_status()  # warm: the first request loads the app
            durations: list[float] = []

            def send(body: dict) -> None:
                started = time.perf_counter()
                answer = http.post("/api/activities/bulk", json=body)
                if answer.status_code != 200 or answer.json()["errors"]:
                    raise RuntimeError(
                        f"the endpoint refused a batch: {answer.status_code} {answer.text[:300]}"
                    )
                durations.append(time.perf_counter() - started)

            load_before = os.getloadavg()[0]
            backends_before, server_before = _database_backends(), _cpu_seconds(server.pid)
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=clients) as pool:
                list(pool.map(send, batches))
            seconds = time.perf_counter() - started
            server_after, backends_after = _cpu_seconds(server.pid), _database_backends()
            load_after = os.getloadavg()[0]
    finally:
        server.terminate()
        server.wait(timeout=30)
        revoke_token(token, actor=_bench_user())
    durations.sort()
    return EndpointFigures(
        activities=activities,
        batch=batch,
        clients=clients,
        seconds=round(seconds, 2),
        activities_per_second=round(activities / seconds, 1),
        transitions=Transition.objects.count() - transitions_before,
        p50_batch_seconds=round(durations[len(durations) // 2], 3),
        p95_batch_seconds=round(durations[min(len(durations) - 1, int(len(durations) * 0.95))], 3),
        load_average=(round(load_before, 2), round(load_after, 2)),
        server_cpu_ms_per_1000=_per_1000(
            None if server_before is None or server_after is None else server_after - server_before,
            activities,
        ),
        database_cpu_ms_per_1000=_per_1000(_database_cpu(backends_before, backends_after), activities),
    )
