"""Signed inbound webhooks through HTTP: the signature, the timestamp window and replays are
checked before anything is read; valid items go in while bad ones are reported."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from django.utils import timezone

from kyogyo.customers.models import Account, ConsentRecord, Contact
from kyogyo.intake.actions import rotate_source_secret
from kyogyo.intake.models import SeenMessage
from kyogyo.marketing.models import Activity
from kyogyo.ops import jobs
from kyogyo.webhooks.signing import sign

AT = "2026-04-06T10:00:00+09:00"


@pytest.fixture
def known(make_contact):
    return make_contact(email="taro@acme.co.jp", external_id="crm:42")


def test_a_signed_message_records_activities_for_known_people(source, hook, known):
    body = {
        "activities": [
            {"email": "Taro@Acme.co.jp", "type": "event", "occurred_at": AT, "external_id": "webinar-7"},
            {"contact_external_id": "crm:42", "type": "demo", "occurred_at": "2026-04-07T01:00:00Z"},
        ]
    }
    response = hook(source, body)

    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "processed",
        "contacts": {"created": 0, "updated": 0, "unchanged": 0, "errors": 0},
        "activities": {"created": 2, "duplicates": 0, "errors": 0},
        "errors": [],
    }
    rows = list(
        Activity.objects.order_by("occurred_at").values_list("contact", "type", "source", "external_id")
    )
    assert rows[0] == (known.pk, "event", "hook:events", "events:webinar-7")
    assert rows[1][:3] == (known.pk, "demo", "hook:events")
    known.refresh_from_db()
    assert known.engagement_score > 0


def test_the_same_activities_in_a_new_message_are_duplicates(source, hook, known):
    body = {"activities": [{"email": "taro@acme.co.jp", "type": "event", "occurred_at": AT}]}
    assert hook(source, body).json()["activities"]["created"] == 1
    # A new message (new timestamp) carrying the same activity, without an id.
    again = hook(source, body, t=int(time.time()) - 30)
    assert again.json()["activities"] == {"created": 0, "duplicates": 1, "errors": 0}
    assert Activity.objects.count() == 1


def test_bad_items_are_reported_and_the_valid_ones_kept(source, hook, known):
    body = {
        "activities": [
            {"email": "taro@acme.co.jp", "type": "event", "occurred_at": AT},
            {"email": "nobody@acme.co.jp", "type": "event", "occurred_at": AT},
            {"email": "taro@acme.co.jp", "type": "party", "occurred_at": AT},
            {"email": "taro@acme.co.jp", "type": "demo", "occurred_at": "2026-04-06 10:00"},
            "not an object",
            {"email": "taro@acme.co.jp", "type": "call", "occurred_at": AT, "colour": "red"},
        ]
    }
    response = hook(source, body)

    assert response.status_code == 200
    answer = response.json()
    assert answer["activities"] == {"created": 1, "duplicates": 0, "errors": 5}
    assert [(e["index"], e["field"], e["code"]) for e in answer["errors"]] == [
        (1, "email", "unknown_contact"),
        (2, "type", "unknown_type"),
        (3, "occurred_at", "bad_time"),
        (4, "", "bad_item"),
        (5, "colour", "unknown_field"),
    ]
    assert Activity.objects.get().type == "event"


def test_contacts_are_upserted_with_their_company_and_consent(source, hook, known):
    body = {
        "contacts": [
            {
                "email": "jiro@newco.jp",
                "first_name": "Jiro",
                "account": {"name": "NewCo", "employee_count": "50-99", "country": "JP"},
                "consent": "granted",
                "consent_wording": "Yes, send me news.",
            },
            {"external_id": "crm:42", "title": "CTO", "consent": "withdrawn"},
            {"email": "bad-address", "first_name": "X"},
            {"email": "hana@newco.jp", "consent": "granted"},
        ]
    }
    response = hook(source, body)

    answer = response.json()
    assert answer["contacts"] == {"created": 1, "updated": 1, "unchanged": 0, "errors": 2}
    assert [(e["index"], e["field"], e["code"]) for e in answer["errors"]] == [
        (2, "email", "bad_email"),
        (3, "consent_wording", "no_wording"),
    ]
    jiro = Contact.objects.get(email="jiro@newco.jp")
    assert (jiro.account.name, jiro.account.domain, jiro.account.employee_count) == ("NewCo", "newco.jp", 50)
    assert jiro.source == "hook:events" and jiro.consent == "granted"
    known.refresh_from_db()
    assert (known.title, known.consent) == ("CTO", "withdrawn")
    assert list(
        ConsentRecord.objects.order_by("id").values_list("contact__email", "state", "inbound_source")
    ) == [
        ("jiro@newco.jp", "granted", source.pk),
        ("taro@acme.co.jp", "withdrawn", source.pk),
    ]
    assert not Contact.objects.filter(email="hana@newco.jp").exists()


def test_a_message_can_introduce_a_person_and_record_their_activity(source, hook):
    body = {
        "contacts": [{"email": "new@acme.co.jp"}],
        "activities": [{"email": "new@acme.co.jp", "type": "event", "occurred_at": AT}],
    }
    answer = hook(source, body).json()
    assert (answer["contacts"]["created"], answer["activities"]["created"]) == (1, 1)


def test_a_bad_signature_is_refused_and_nothing_is_stored(source, hook, known):
    body = {"activities": [{"email": "taro@acme.co.jp", "type": "event", "occurred_at": AT}]}
    wrong = hook(source, body, secret="another-secret-of-32-characters!")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "bad_signature")
    missing = hook(source, body, signature="")
    assert (missing.status_code, missing.json()["error"]["code"]) == (401, "signature_missing")
    garbled = hook(source, body, signature="v1=abc")
    assert (garbled.status_code, garbled.json()["error"]["code"]) == (401, "bad_signature")
    # A signature of another body does not cover this one.
    raw = json.dumps(body).encode()
    stamp = int(time.time())
    other = sign(source.secret, raw + b" ", stamp)
    assert hook(source, raw, signature=other).status_code == 401
    assert not Activity.objects.exists() and not SeenMessage.objects.exists()


@pytest.mark.parametrize("offset", [-301, 301, -10_000])
def test_a_timestamp_outside_the_window_is_refused(source, hook, known, offset, monkeypatch):
    body = {"activities": [{"email": "taro@acme.co.jp", "type": "event", "occurred_at": AT}]}
    now = int(time.time())
    monkeypatch.setattr(
        time, "time", lambda: float(now)
    )  # a second past the window, however slow the machine
    response = hook(source, body, t=now + offset)
    assert (response.status_code, response.json()["error"]["code"]) == (401, "stale_timestamp")
    assert not Activity.objects.exists()


def test_the_window_is_a_setting(source, hook, known, settings):
    settings.KYOGYO_INTAKE_HOOK_WINDOW_SECONDS = 30
    body = {"activities": [{"email": "taro@acme.co.jp", "type": "event", "occurred_at": AT}]}
    assert hook(source, body, t=int(time.time()) - 120).status_code == 401


def test_a_replayed_message_is_refused(source, hook, known):
    body = {"activities": [{"email": "taro@acme.co.jp", "type": "event", "occurred_at": AT}]}
    raw = json.dumps(body).encode()
    header = sign(source.secret, raw, int(time.time()))

    first = hook(source, raw, signature=header)
    replay = hook(source, raw, signature=header)
    # The same signature written differently is the same message.
    reordered = hook(source, raw, signature=",".join(reversed(header.split(","))))

    assert first.status_code == 200
    assert (replay.status_code, replay.json()["error"]["code"]) == (409, "replay")
    assert reordered.status_code == 409
    assert Activity.objects.count() == 1


def test_a_message_id_seen_within_the_window_is_a_replay(source, hook, known):
    body = {"id": "msg-1", "activities": [{"email": "taro@acme.co.jp", "type": "event", "occurred_at": AT}]}
    assert hook(source, body).status_code == 200
    assert hook(source, body, t=int(time.time()) - 5).status_code == 409


def test_a_failed_ingest_can_be_sent_again(source, hook, known):
    """The replay memory is written in the ingest's transaction: a refused body leaves none."""
    raw = b'{"activities": "not a list"}'
    header = sign(source.secret, raw, int(time.time()))
    assert hook(source, raw, signature=header).status_code == 400
    assert not SeenMessage.objects.exists()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "bad_body"),
        (b"[1, 2]", 400, "bad_body"),
        (b'{"deals": []}', 400, "bad_body"),
        (b'{"activities": []}', 400, "bad_body"),
        (b'{"id": 5, "activities": [{}]}', 400, "bad_body"),
        (json.dumps({"activities": [{}] * 1001}).encode(), 413, "too_many_items"),
    ],
)
def test_bad_bodies_are_refused_whole(source, hook, body, status, code):
    response = hook(source, body)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)


def test_a_source_only_takes_what_it_accepts(source, hook):
    source.accepts = ["activities"]
    source.save()
    response = hook(source, {"contacts": [{"email": "a@b.jp"}]})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "not_accepted")
    assert not Contact.objects.exists()


def test_a_body_over_the_limit_is_refused(source, hook, settings):
    settings.KYOGYO_INTAKE_MAX_HOOK_BYTES = 1000
    response = hook(source, {"contacts": [{"email": "a@b.jp", "first_name": "x" * 2000}]})
    assert (response.status_code, response.json()["error"]["code"]) == (413, "too_large")
    assert not Contact.objects.exists()


def test_unknown_and_switched_off_sources_are_404(source, hook, client):
    assert client.post("/intake/hooks/nope", b"{}", content_type="application/json").status_code == 404
    source.active = False
    source.save()
    assert hook(source, {"contacts": [{"email": "a@b.jp"}]}).status_code == 404
    assert client.get(f"/intake/hooks/{source.key}").status_code == 405


def test_after_a_rotation_the_old_secret_works_only_during_the_grace(source, hook, known):
    old = source.secret
    body = {"activities": [{"email": "taro@acme.co.jp", "type": "event", "occurred_at": AT}]}
    rotate_source_secret(source, grace=dt.timedelta(hours=1))
    assert hook(source, body, secret=old).status_code == 200
    assert hook(source, {**body, "id": "2"}, secret=source.secret).status_code == 200

    rotate_source_secret(source)  # no grace: a leaked secret stops at once
    assert hook(source, {**body, "id": "3"}, secret=old).status_code == 401


def test_the_sweep_job_forgets_expired_messages(source, hook, known):
    body = {"activities": [{"email": "taro@acme.co.jp", "type": "event", "occurred_at": AT}]}
    hook(source, {**body, "id": "a"})
    assert SeenMessage.objects.count() == 2  # the signed message and its id
    assert jobs.sweep_inbound_messages() == 0
    SeenMessage.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert jobs.sweep_inbound_messages() == 2


def test_the_python_example_in_the_docs_signs_messages_we_accept(source, client, known):
    """docs/intake.md's sender example, run as written."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[3] / "docs" / "intake.md").read_text()
    example = text.split("```python\n", 1)[1].split("```", 1)[0]
    sent = {}

    class FakeHttp:
        @staticmethod
        def post(url, content, headers, timeout):
            path = url.split("://", 1)[1].split("/", 1)[1]
            response = client.post(
                "/" + path,
                content,
                content_type=headers["Content-Type"],
                HTTP_X_KYOGYO_SIGNATURE=headers["X-Kyogyo-Signature"],
            )
            sent["response"] = response
            return response

    namespace: dict = {"httpx": FakeHttp}
    exec(example.replace("import httpx\n", ""), namespace)
    namespace["send"](
        "https://crm.example.com/intake/hooks/events",
        source.secret,
        {"activities": [{"email": "taro@acme.co.jp", "type": "event", "occurred_at": AT}]},
    )
    assert sent["response"].status_code == 200
    assert Activity.objects.count() == 1
    assert Account.objects.count() == 1
