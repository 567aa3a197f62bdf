"""Imports over the API: a file uploaded with a preset or a mapping is imported by the
worker (here run at once, as django-q's sync mode does), exactly as ``kyogyo import`` does;
progress and counts are read back, the error file downloaded; bad uploads are refused
with a code naming what is wrong, and nothing is kept of them."""

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
    "c3,yui@beta.example.jp,Yui,Kato,Beta,beta.example.jp",
]


@pytest.fixture(autouse=True)
def worker_runs_at_once(monkeypatch, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.KYOGYO_IMPORT_DIR = tmp_path / "imports"
    monkeypatch.setattr(Conf, "SYNC", True)


def upload(client, name: str, content: bytes, **fields):
    files = {"file": SimpleUploadedFile(name, content)}
    if "mapping" in fields:
        files["mapping"] = fields.pop("mapping")
    return client.client.post("/api/imports", {**fields, **files})


def contacts_csv() -> bytes:
    return (HEADER + "\n".join(ROWS) + "\n").encode()


def test_an_upload_is_imported_and_reports_its_counts_and_errors(
    api, people, django_capture_on_commit_callbacks
):
    client = api(people.marketer)
    with django_capture_on_commit_callbacks(execute=True):
        answer = upload(client, "leads.csv", contacts_csv(), kind="contacts", preset="generic")
    assert answer.status_code == 202, answer.content
    assert answer.json()["status"] == "queued"
    shown = client.get(answer["Location"].removeprefix("/api")).json()
    assert (shown["status"], shown["created"], shown["errors"], shown["rows_done"]) == ("done", 2, 1, 3)
    assert set(Contact.objects.values_list("email", flat=True)) == {
        "hana@acme.example.jp",
        "yui@beta.example.jp",
    }
    errors = client.get(shown["error_file"].removeprefix("/api"))
    assert errors.status_code == 200 and errors["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(b"".join(errors.streaming_content).decode())))
    assert lines[1][:3] == ["3", "email", "bad_email"]
    # The same file again changes nothing.
    with django_capture_on_commit_callbacks(execute=True):
        again = upload(client, "leads.csv", contacts_csv(), kind="contacts", preset="generic")
    shown = client.get(f"/imports/{again.json()['id']}").json()
    assert (shown["created"], shown["unchanged"], shown["errors"]) == (0, 2, 1)


def test_a_dry_run_writes_nothing(api, people, django_capture_on_commit_callbacks):
    client = api(people.marketer)
    with django_capture_on_commit_callbacks(execute=True):
        answer = upload(
            client, "leads.csv", contacts_csv(), kind="contacts", preset="generic", dry_run="true"
        )
    shown = client.get(f"/imports/{answer.json()['id']}").json()
    assert (shown["status"], shown["dry_run"], shown["created"]) == ("done", True, 2)
    assert not Contact.objects.exists()


def test_a_mapping_file_instead_of_a_preset(api, people, django_capture_on_commit_callbacks):
    mapping = SimpleUploadedFile(
        "map.yaml", b"kind: contacts\ncolumns: {Mail: email, Company: account.name}\nmatch: [email]\n"
    )
    with django_capture_on_commit_callbacks(execute=True):
        answer = upload(
            api(people.marketer),
            "list.csv",
            b"Mail,Company\nmika@gamma.example.jp,Gamma\n",
            kind="contacts",
            mapping=mapping,
        )
    assert answer.status_code == 202, answer.content
    assert Contact.objects.get().account.name == "Gamma"


@pytest.mark.parametrize(
    ("name", "content", "fields", "status", "code"),
    [
        ("leads.txt", b"a,b\n", {"kind": "contacts", "preset": "generic"}, 422, "bad_type"),
        ("book.xlsx", b"not a zip", {"kind": "contacts", "preset": "generic"}, 422, "bad_type"),
        ("leads.csv", b"", {"kind": "contacts", "preset": "generic"}, 422, "empty_file"),
        ("leads.csv", b"a\x00b\n", {"kind": "contacts", "preset": "generic"}, 422, "bad_type"),
        ("leads.csv", b"a,b\n", {"kind": "contacts"}, 422, "preset_or_mapping"),
        ("leads.csv", b"a,b\n", {"kind": "contacts", "preset": "nope"}, 422, "bad_mapping"),
        ("leads.csv", b"a,b\n", {"kind": "planets", "preset": "generic"}, 422, "bad_kind"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_kept(
    api, people, settings, name, content, fields, status, code
):
    answer = upload(api(people.marketer), name, content, **fields)
    assert answer.status_code == status, answer.content
    assert answer.json()["error"]["code"] == code
    assert not ImportUpload.objects.exists()
    uploads_dir = settings.KYOGYO_IMPORT_DIR / "uploads"
    assert not uploads_dir.exists() or not any(uploads_dir.iterdir())


def test_too_large_is_413(api, people, settings):
    settings.KYOGYO_IMPORT_MAX_UPLOAD_BYTES = 10
    answer = upload(api(people.marketer), "leads.csv", contacts_csv(), kind="contacts", preset="generic")
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "too_large"


def test_imports_are_seen_by_their_user_and_managers(api, people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        mine = upload(
            api(people.marketer), "leads.csv", contacts_csv(), kind="contacts", preset="generic"
        ).json()
    assert api(people.is_rep).get(f"/imports/{mine['id']}").status_code == 404
    assert api(people.is_rep).get(f"/imports/{mine['id']}/errors").status_code == 404
    assert api(people.manager).get(f"/imports/{mine['id']}").status_code == 200
    assert [i["id"] for i in api(people.manager).get("/imports").json()["items"]] == [mine["id"]]
    assert api(people.is_rep).get("/imports").json()["items"] == []
    assert api(people.outsider).get("/imports").status_code == 403
    outsider = upload(api(people.outsider), "leads.csv", contacts_csv(), kind="contacts", preset="generic")
    assert outsider.status_code == 403


def test_the_error_file_hides_what_its_reader_may_not_see(api, people, django_capture_on_commit_callbacks):
    """An error file echoes the uploaded cells. A column mapped to a field an admin marked
    restricted reads "Restricted" for whoever may not see that field (the message about such
    a cell too, as it may quote the value) — on the API and the web page alike."""
    from django.test import Client

    from kyogyo.org.models import RestrictedField
    from kyogyo.testing import T0

    with django_capture_on_commit_callbacks(execute=True):
        mine = upload(
            api(people.marketer), "leads.csv", contacts_csv(), kind="contacts", preset="generic"
        ).json()
    for field, model in (("email", "customers.contact"), ("domain", "customers.account")):
        RestrictedField.objects.create(
            model=model, field=field, audience=RestrictedField.Audience.ADMINS, created_at=T0
        )

    def rows(response) -> list[list[str]]:
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        assert response["Content-Disposition"] == f'attachment; filename="import-{mine["id"]}-errors.csv"'
        return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))

    def web(user):
        client = Client()
        client.force_login(user)
        return client.get(f"/imports/{mine['id']}/errors")

    header, *broken = rows(api(people.manager).get(f"/imports/{mine['id']}/errors"))
    assert header[:4] == ["line", "column", "code", "message"]
    assert broken == [
        ["3", "email", "bad_email", "Restricted", "c2", "Restricted", "Ken", "Ito", "Acme", "Restricted"]
    ]
    assert rows(web(people.manager))[1:] == broken
    for reader in (api(people.admin).get(f"/imports/{mine['id']}/errors"), web(people.admin)):
        seen = rows(reader)[1]
        assert seen[5] == "not-an-email" and seen[9] == "acme.example.jp" and "not-an-email" in seen[3]
