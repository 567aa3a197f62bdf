"""The import page over HTTP: upload with a preset or a mapping (checked, refused with the
reason on the field), a dry run that writes nothing, the run for real, progress polled by
htmx, counts and the error file; members only see their own imports."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_q.conf import Conf

from kyogyo.customers.models import Contact
from kyogyo.imports.models import ImportUpload

HEADER = "external_id,email,first_name,last_name,account_name,account_domain\n"
ROWS = [
    "c1,hana@acme.example.jp,Hana,Sato,Acme,acme.example.jp",
    "c2,not-an-email,Ken,Ito,Acme,acme.example.jp",
    "c3,yui@beta.example.jp,<script>alert(1)</script>,Kato,Beta,beta.example.jp",
]


@pytest.fixture(autouse=True)
def worker_runs_at_once(monkeypatch):
    monkeypatch.setattr(Conf, "SYNC", True)


def contacts_csv() -> bytes:
    return (HEADER + "\n".join(ROWS) + "\n").encode()


def post_file(client, content: bytes = b"", name: str = "leads.csv", **fields):
    data = {
        "kind": "contacts",
        "preset": "generic",
        "file": SimpleUploadedFile(name, content or contacts_csv()),
    }
    data.update(fields)
    return client.post("/imports/", {k: v for k, v in data.items() if v is not None})


def test_outsiders_without_a_team_get_the_403_page(client, people):
    client.force_login(people.outsider)
    assert client.get("/imports/").status_code == 403


def test_empty_state(client, people):
    client.force_login(people.marketer)
    assert b"No imports yet." in client.get("/imports/").content


def test_a_dry_run_then_the_run_for_real(client, people, django_capture_on_commit_callbacks):
    client.force_login(people.marketer)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(client, dry_run="on")
    assert response.status_code == 302
    dry = ImportUpload.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert dry.dry_run and 'data-status="done"' in page and "Would be created" in page
    assert "hx-get" not in page  # finished: no more polling
    assert not Contact.objects.exists()
    assert 'id="error-file"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/imports/{dry.pk}/run")
    real = ImportUpload.objects.exclude(pk=dry.pk).get()
    assert response["Location"] == f"/imports/{real.pk}/"
    assert (real.dry_run, real.status, real.summary["created"], real.summary["errors"]) == (
        False,
        "done",
        2,
        1,
    )
    assert Contact.objects.count() == 2
    errors = client.get(f"/imports/{real.pk}/errors")
    assert errors["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(b"".join(errors.streaming_content).decode())))
    assert lines[1][:3] == ["3", "email", "bad_email"]
    listing = client.get("/imports/").content.decode()
    assert "<script>alert(1)" not in listing
    # A real run cannot be "run for real" again.
    response = client.post(f"/imports/{real.pk}/run", follow=True)
    assert b"Only a finished dry run can be run for real." in response.content


def test_progress_is_polled_while_the_import_waits(client, people, monkeypatch):
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr("kyogyo.imports.uploads._queue", lambda upload_id: None)  # no worker here
    client.force_login(people.marketer)
    response = post_file(client)
    upload = ImportUpload.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert f'hx-get="/imports/{upload.pk}/progress"' in page and 'hx-trigger="every 2s"' in page
    ImportUpload.objects.filter(pk=upload.pk).update(status="running", rows_done=40, rows_total=100)
    part = client.get(f"/imports/{upload.pk}/progress").content.decode()
    assert 'max="100" value="40"' in part and "<html" not in part


def test_bad_uploads_are_refused_on_their_field(client, people):
    client.force_login(people.marketer)
    response = post_file(client, name="leads.pdf")
    assert response.status_code == 422
    assert response.context["form"].errors["file"]
    response = post_file(client, preset="")
    assert response.status_code == 422 and response.context["form"].errors["preset"]
    response = post_file(client, preset="salesforce-opportunities")
    assert response.status_code == 422 and response.context["form"].errors["preset"]
    response = post_file(client, mapping=SimpleUploadedFile("m.yaml", b"columns: {nope: 1}"), preset="")
    assert response.status_code == 422 and response.context["form"].errors["mapping"]
    assert not ImportUpload.objects.exists()


def test_members_see_only_their_own_imports(client, people, django_capture_on_commit_callbacks):
    client.force_login(people.marketer)
    with django_capture_on_commit_callbacks(execute=True):
        post_file(client)
    upload = ImportUpload.objects.get()
    client.force_login(people.is_rep)
    assert client.get(f"/imports/{upload.pk}/").status_code == 404
    assert client.get(f"/imports/{upload.pk}/errors").status_code == 404
    assert b"leads.csv" not in client.get("/imports/").content
    client.force_login(people.manager)
    assert client.get(f"/imports/{upload.pk}/").status_code == 200


def test_the_list_costs_the_same_for_many_imports(client, people, django_assert_max_num_queries):
    for n in range(30):
        ImportUpload.objects.create(
            user=people.marketer if n % 2 else people.is_rep,
            kind="contacts",
            file_name=f"f{n}.csv",
            stored_path="/x",
            size=1,
        )
    client.force_login(people.manager)
    with django_assert_max_num_queries(6):
        assert client.get("/imports/").status_code == 200
