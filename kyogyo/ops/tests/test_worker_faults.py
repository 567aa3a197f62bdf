"""The background worker (``kyogyo worker``, django-q2 on the database) across faults: an
uploaded import running as a queued task when the worker is killed with SIGKILL, or when
the database server crashes under it. The task is handed out again (``retry`` seconds after
it was taken) and the import ends done, with each row once."""

from __future__ import annotations

import json
import time

import pytest

from kyogyo.imports.tests.files import write_csv
from kyogyo.imports.tests.test_import import CONTACT_HEADER, contact_rows
from kyogyo.ops import faults

pytestmark = pytest.mark.faults

ROWS = 12000
#: what the task may take, and when a task a dead worker took is handed out again
TIMEOUT, RETRY = 20, 8
#: about how long the import takes in the worker here (the faults fall within it)
SECONDS = 3.0

QUEUE = """
from pathlib import Path
from django.core.files.uploadedfile import SimpleUploadedFile
from kyogyo.imports.uploads import accept_upload
from kyogyo.org.models import User
user = User.objects.create_user(username="admin", password="x", role=User.Role.ADMIN)
path = Path({path!r})
upload = SimpleUploadedFile(path.name, path.read_bytes())
print(accept_upload(user, kind="contacts", upload=upload, preset="generic").pk)
"""


def upload_state(cluster, database: str) -> tuple[str, int]:
    try:
        found = cluster.execute("SELECT status, rows_done FROM imports_importupload", database)
    except Exception:  # the server is restarting
        return ("unknown", 0)
    return found[0] if found else ("none", 0)


def test_a_queued_import_survives_a_killed_worker_and_a_crashed_database(
    scratch_postgres, fault_seed, tmp_path
):
    path = write_csv(tmp_path / "people.csv", CONTACT_HEADER, contact_rows(ROWS))
    for number, fault in enumerate(faults.fault_plan(fault_seed, 2)):
        repetition(scratch_postgres, path, f"worker_{number}", fault)


def repetition(cluster, path, database: str, fault: faults.Fault) -> None:
    env = faults.kyogyo_env(
        cluster.create_database(database),
        path.parent / database,
        KYOGYO_TASK_TIMEOUT_SECONDS=str(TIMEOUT),
        KYOGYO_TASK_RETRY_SECONDS=str(RETRY),
    )
    log = path.parent / f"{database}-worker.log"
    faults.run_kyogyo(env, "shell", "-c", QUEUE.format(path=str(path)))
    worker = faults.start_kyogyo(env, "worker", log=log)
    try:
        faults.wait_until(lambda: upload_state(cluster, database)[0] == "running", "the task to start")
        time.sleep(fault.progress * SECONDS)
        state = upload_state(cluster, database)
        if fault.kind == "kill":
            faults.kill_hard(worker)
            worker = faults.start_kyogyo(env, "worker", log=log)
        else:
            cluster.restart("immediate")
        print(f"{database}: {fault} with the upload {state}")
        faults.wait_until(
            lambda: upload_state(cluster, database)[0] in ("done", "failed"), "the import to end"
        )
    finally:
        faults.kill_hard(worker)
    status, summary, error = cluster.execute(
        "SELECT status, summary::text, error_message FROM imports_importupload", database
    )[0]
    assert (status, error) == ("done", ""), (fault, state, log.read_text()[-3000:])
    assert json.loads(summary)["created"] + json.loads(summary)["unchanged"] == ROWS
    contacts = cluster.execute("SELECT count(*), count(DISTINCT email) FROM customers_contact", database)
    assert contacts == [(ROWS, ROWS)], fault
    assert cluster.execute("SELECT status, rows_done FROM imports_importrun", database) == [("done", ROWS)]
