"""Webhook events and deliveries across faults: the process raising the events (an import)
and the process delivering them (``kyogyo webhooks deliver``) are killed with SIGKILL or
the database server crashes under them, at random points; after a rerun every event is
recorded once and delivered at least once to a real HTTP receiver on loopback, which
deduplicates by the delivery id, and the delivery log agrees with what the receiver saw."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kyogyo.imports.tests.files import write_csv
from kyogyo.imports.tests.test_import import CONTACT_HEADER, contact_rows
from kyogyo.ops import faults

pytestmark = pytest.mark.faults

PEOPLE = 600
BATCH = 40
LEASE_SECONDS = 1


class Receiver:
    """An HTTP server on 127.0.0.1 that answers 200 to every POST and remembers the delivery
    id (``X-Kyogyo-Delivery``) and body of each request, in order."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict]] = []
        lock = threading.Lock()
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    seen.append((self.headers["X-Kyogyo-Delivery"], body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.close()


def break_process(cluster, process, reached, fault: faults.Fault) -> str:
    """Once ``reached(fault.progress)`` holds and ``fault.delay`` has passed, SIGKILL the
    process or crash the server; says what happened."""
    running = faults.wait_until(lambda: reached(fault.progress), "progress", while_running=process)
    time.sleep(fault.delay)
    if fault.kind == "kill":
        faults.kill_hard(process)
    else:
        cluster.restart("immediate")
        _out, err = process.communicate(timeout=faults.PATIENCE_SECONDS)
        assert "Traceback" not in err, err
    return f"{fault}: {'broke it' if running else 'it had finished'}"


def safely(cluster, sql: str, database: str, default=0):
    try:
        return cluster.execute(sql, database)[0][0]
    except Exception:  # the server is restarting
        return default


def imported_rows(cluster, database: str) -> int:
    return safely(cluster, "SELECT coalesce(max(rows_done), 0) FROM imports_importrun", database)


def test_events_and_deliveries_survive_kills_and_crashes(scratch_postgres, fault_seed, receiver, tmp_path):
    path = write_csv(tmp_path / "people.csv", CONTACT_HEADER, contact_rows(PEOPLE))
    plan = faults.fault_plan(fault_seed, 4, kinds=("kill", "restart", "restart", "kill"))
    for number in range(2):
        repetition(
            scratch_postgres, receiver, path, f"webhooks_{number}", plan[2 * number], plan[2 * number + 1]
        )


def repetition(cluster, receiver, path, database, import_fault, delivery_fault):
    env = faults.kyogyo_env(
        cluster.create_database(database),
        path.parent / database,
        KYOGYO_WEBHOOKS_ALLOW_PRIVATE="1",  # the receiver is on loopback
        KYOGYO_WEBHOOKS_LEASE_SECONDS=str(LEASE_SECONDS),
    )
    faults.run_kyogyo(env, "webhooks", "add", receiver.url, "--events", "stage.changed", "--secret", "s" * 16)
    before = len(receiver.requests)

    # 1. the events: an import (each new person is one stage.changed), broken, resumed
    command = ["import", "contacts", str(path), "--preset", "generic", "--batch-size", str(BATCH)]
    importing = faults.start_kyogyo(env, *command, "--quiet")
    reached = lambda share: imported_rows(cluster, database) >= PEOPLE * share  # noqa: E731
    what = break_process(cluster, importing, reached, import_fault)
    print(f"{database}, import: {what}")
    faults.run_kyogyo(env, *command, "--quiet")
    transitions = cluster.execute("SELECT id FROM journey_transition", database)
    assert len(transitions) == PEOPLE
    recorded = cluster.execute(
        "SELECT (body::json -> 'data' ->> 'transition_id')::int FROM webhooks_delivery", database
    )
    assert Counter(r[0] for r in recorded) == Counter(t[0] for t in transitions), (
        f"each stage change is one delivery ({what})"
    )

    # 2. the deliveries, broken part-way, then sent again once the lease has run out
    delivering = faults.start_kyogyo(env, "webhooks", "deliver", "--limit", str(PEOPLE))
    sent = lambda share: len(receiver.requests) - before >= PEOPLE * share  # noqa: E731
    what = break_process(cluster, delivering, sent, delivery_fault)
    print(f"{database}, delivery: {what}")
    time.sleep(LEASE_SECONDS + 0.1)  # a delivery claimed by the broken run is due again
    faults.run_kyogyo(env, "webhooks", "deliver", "--limit", str(PEOPLE))

    log = cluster.execute(
        "SELECT event_id::text, status, attempts, response_code FROM webhooks_delivery", database
    )
    received = Counter(delivery_id for delivery_id, _ in receiver.requests[before:])
    assert set(received) == {row[0] for row in log}, f"every event delivered at least once ({what})"
    assert {(row[1], row[3]) for row in log} == {("delivered", 200)}, what
    # at most the one delivery in flight when the sender broke went twice; every request
    # the receiver saw is an attempt in the log
    assert sum(received.values()) - len(received) <= 1, (received.most_common(2), what)
    attempts = {row[0]: row[2] for row in log}
    assert all(attempts[i] >= n for i, n in received.items()), what
    assert sum(attempts.values()) - sum(received.values()) <= 1, what
    bodies = {delivery_id: body for delivery_id, body in receiver.requests[before:]}  # deduplicated by id
    assert {b["data"]["transition_id"] for b in bodies.values()} == {t[0] for t in transitions}
