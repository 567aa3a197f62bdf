"""What the fault-injection tests stand on: a throwaway PostgreSQL cluster the tests may stop,
crash and start again (never the shared server), ``kyogyo`` commands run as processes of
their own against it, and seeded fault points.

The cluster is made with the server's own ``initdb`` and ``pg_ctl`` in a temporary
directory, on a free loopback port; as root they run as the ``postgres`` OS user (initdb
refuses root). One template database is migrated once; each scenario copies it
(``CREATE DATABASE … TEMPLATE``), which takes a fraction of a second.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PG_BIN = Path(os.environ.get("KYOGYO_PG_BIN", "/usr/lib/postgresql/15/bin"))
TEMPLATE = "kyogyo_template"
#: waits in the tests are bounded by this (a hung process fails the test, never the suite)
PATIENCE_SECONDS = 120.0


class ClusterUnavailable(RuntimeError):
    """initdb / pg_ctl are missing, or we cannot run them as a non-root user."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ScratchCluster:
    """A PostgreSQL cluster of our own: ``start()``, ``stop(mode)``, ``crash()`` (immediate
    shutdown: no checkpoint, crash recovery at the next start), ``restart(mode)``."""

    def __init__(self, root: Path | None = None) -> None:
        for tool in ("initdb", "pg_ctl", "postgres"):
            if not (PG_BIN / tool).exists():
                raise ClusterUnavailable(f"{PG_BIN / tool} is not installed")
        self._as_postgres: list[str] = []
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise ClusterUnavailable("running as root and there is no `postgres` OS user") from exc
            self._as_postgres = ["runuser", "-u", "postgres", "--"]
        self.root = Path(root or tempfile.mkdtemp(prefix="kyogyo-pg-"))
        if self._as_postgres:
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = _free_port()
        self._pg(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip
        settings = {
            "port": self.port,
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.root}'",
            "max_connections": 40,
            "shared_buffers": "'32MB'",
            # The machine does not crash in these tests, only the server: the OS keeps what
            # was written, so flushing to disk buys nothing but time.
            "fsync": "off",
            "full_page_writes": "off",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def _pg(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [*self._as_postgres, str(PG_BIN / tool), *args],
            capture_output=True,
            text=True,
            timeout=PATIENCE_SECONDS,
            cwd=self.root,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)} failed: {done.stdout}{done.stderr}")

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast``: a clean shutdown (sessions ended, checkpoint); ``immediate``: processes
        killed at once, as if the server crashed (recovery replays the WAL at start)."""
        self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self, mode: str = "immediate") -> None:
        self.stop(mode)
        self.start()

    def execute(self, sql: str, database: str = "postgres") -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn, conn.cursor() as cursor:
            cursor.execute(sql)  # type: ignore[call-overload]
            return cursor.fetchall() if cursor.description else []

    def create_database(self, name: str, template: str = TEMPLATE) -> str:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)

    def destroy(self) -> None:
        with contextlib.suppress(RuntimeError):  # not running
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def kyogyo_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a ``kyogyo`` process on ``database_url``: the suite's own
    database settings are not inherited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "KYOGYO_"))}
    env.update(DATABASE_URL=database_url, KYOGYO_DATA_DIR=str(data_dir), **extra)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def kyogyo_command() -> str:
    return str(Path(sys.executable).with_name("kyogyo"))


def run_kyogyo(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [kyogyo_command(), *args], env=env, capture_output=True, text=True, timeout=PATIENCE_SECONDS
    )
    if check and done.returncode != 0:
        raise AssertionError(f"kyogyo {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done


def start_kyogyo(env: dict[str, str], *args: str, log: Path | None = None) -> subprocess.Popen[str]:
    """A ``kyogyo`` process in a session of its own, so a kill reaches its children (the
    worker's) too. Its output is piped, or appended to ``log`` (a long-running process
    would block on a full pipe nobody reads)."""
    if log is None:
        out: Any = subprocess.PIPE
    else:
        out = log.open("a")
    return subprocess.Popen(
        [kyogyo_command(), *args],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT if log is not None else subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def kill_hard(process: subprocess.Popen[str]) -> None:
    """SIGKILL to the process and everything it started; waits until they are gone."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=PATIENCE_SECONDS)


def wait_until(
    condition: Callable[[], bool], what: str, *, while_running: subprocess.Popen | None = None
) -> bool:
    """Poll ``condition`` until it holds (True), or ``while_running`` has ended (False).
    Fails after ``PATIENCE_SECONDS`` — a bound on a hang, never a measured assertion."""
    deadline = time.monotonic() + PATIENCE_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return True
        if while_running is not None and while_running.poll() is not None:
            return False
        time.sleep(0.02)
    raise AssertionError(f"gave up waiting for {what}")


@dataclass(frozen=True)
class Fault:
    """Where and how one repetition breaks things: after ``progress`` (a fraction of the
    work, measured the way each scenario can see it) and ``delay`` seconds more, either
    SIGKILL the process (``kill``) or crash the database server (``restart``)."""

    kind: str
    progress: float
    delay: float

    def __str__(self) -> str:
        return f"{self.kind} after {self.progress:.0%} + {self.delay * 1000:.0f} ms"


def fault_plan(seed: int, repetitions: int, kinds: tuple[str, ...] = ("kill", "restart")) -> list[Fault]:
    """``repetitions`` faults, each kind in turn, at points drawn from ``seed``."""
    rng = random.Random(seed)
    return [
        Fault(kinds[i % len(kinds)], rng.uniform(0.05, 0.85), rng.uniform(0.0, 0.25))
        for i in range(repetitions)
    ]


def fault_seed() -> int:
    """``KYOGYO_FAULT_SEED`` replays a run; otherwise a new seed each run (printed by the tests)."""
    chosen = os.environ.get("KYOGYO_FAULT_SEED")
    return int(chosen) if chosen else random.SystemRandom().randrange(1, 10**6)
