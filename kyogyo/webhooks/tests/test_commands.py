"""``kyogyo webhooks``: endpoints added and switched through the command line, the delivery
log read back, bad input refused with a code."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kyogyo.webhooks.actions import create_endpoint, record_event
from kyogyo.webhooks.models import Delivery, Endpoint


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("webhooks", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_add_list_disable_enable_and_rotate(db):
    out, _ = run(
        "add", "https://93.184.215.14/hook", "--events", "deal.won, deal.lost", "--description", "CRM"
    )
    endpoint = Endpoint.objects.get()
    assert f"Endpoint {endpoint.pk}" in out and endpoint.secret in out
    assert endpoint.events == ["deal.won", "deal.lost"]

    listed = json.loads(run("list", "--format", "json")[0])
    assert listed == [
        {
            "id": endpoint.pk,
            "url": "https://93.184.215.14/hook",
            "events": ["deal.won", "deal.lost"],
            "active": True,
            "description": "CRM",
        }
    ]
    run("disable", str(endpoint.pk))
    assert "off" in run("list")[0]
    run("enable", str(endpoint.pk))
    old = endpoint.secret
    out, _ = run("rotate-secret", str(endpoint.pk))
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.secret in out


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("add", "http://0x7f.1/", "--events", "*"), "blocked_address"),
        (("add", "http://[::ffff:7f00:1]/", "--events", "*"), "blocked_address"),
        (("add", "https://93.184.215.14/", "--events", "nope"), "unknown_event"),
        (("disable", "999"), "no_endpoint"),
        (("retry", "999"), "no_delivery"),
    ],
)
def test_bad_input_is_refused_with_a_code(db, args, code):
    with pytest.raises(CommandError, match=code):
        run(*args)
    assert not Endpoint.objects.exists()


def test_deliver_records_the_outcome_and_the_log_shows_it(db):
    # .invalid never resolves (RFC 6761), so no request leaves the machine
    endpoint = create_endpoint("https://hooks.invalid/in", ["*"], resolver=lambda h, p: ["93.184.215.14"])
    record_event("deal.won", {"deal_id": 1})

    out, _ = run("deliver")
    assert "to retry: 1" in out
    [row] = json.loads(run("log", "--format", "json")[0])
    assert (row["endpoint_id"], row["event_type"], row["status"], row["attempts"]) == (
        endpoint.pk,
        "deal.won",
        "pending",
        1,
    )
    assert row["error"].startswith("unresolvable:")
    assert "deal.won" in run("log", "--status", "pending")[0]
    assert run("log", "--status", "delivered")[0] == ""

    Delivery.objects.update(status="failed", next_attempt_at=None)
    out, _ = run("retry", str(row["id"]))
    assert Delivery.objects.get().status == "pending"


def test_the_help_names_every_event_type():
    from kyogyo.webhooks.actions import EVENT_TYPES
    from kyogyo.webhooks.management.commands.webhooks import Command

    assert all(event in Command.help for event in EVENT_TYPES)
