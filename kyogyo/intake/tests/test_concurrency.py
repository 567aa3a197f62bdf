"""Concurrency on PostgreSQL: fills and webhooks for the same new person and company at the
same moment, each thread with its own connection. The person and the company are created
once; a double submit is recorded once; a replayed message is taken once.

Skipped on SQLite (which serialises writers anyway)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from kyogyo.customers.models import Account, Contact
from kyogyo.marketing.models import Activity
from kyogyo.webhooks.signing import sign

from .conftest import ORIGIN

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_together(*actions: Callable[[], Any], timeout: float = 60) -> list[Any]:
    barrier = threading.Barrier(len(actions))
    outcomes: list[Any] = [None] * len(actions)

    def work(index: int, action: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=timeout)
            outcomes[index] = action()
        except BaseException as exc:
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return outcomes


def post_fill(form: Any, data: dict[str, str]) -> Callable[[], int]:
    def send() -> int:
        return Client().post(f"/intake/forms/{form.key}", data, HTTP_ORIGIN=ORIGIN).status_code

    return send


def test_fills_for_one_new_person_at_once_create_them_once(form):
    base = {"email": "new@acme.co.jp", "company": "Acme", "first_name": "Aki"}
    statuses = run_together(*(post_fill(form, {**base, "message": f"question {i}"}) for i in range(4)))

    assert sorted(statuses) == [200, 200, 200, 201]
    assert Contact.objects.count() == 1 and Account.objects.count() == 1
    assert Activity.objects.count() == 4


def test_colleagues_at_one_new_company_at_once_share_it(form):
    statuses = run_together(
        *(post_fill(form, {"email": f"p{i}@newco.jp", "company": "NewCo"}) for i in range(4))
    )

    assert statuses == [201] * 4
    assert Account.objects.count() == 1
    assert set(Contact.objects.values_list("account__domain", flat=True)) == {"newco.jp"}


def test_a_double_submit_at_once_is_recorded_once(form):
    data = {"email": "new@acme.co.jp", "company": "Acme"}
    statuses = run_together(post_fill(form, data), post_fill(form, data))

    assert sorted(statuses) == [200, 201]
    assert Activity.objects.count() == 1


def test_a_message_replayed_at_once_is_taken_once(source, make_contact):
    make_contact(email="taro@acme.co.jp")
    body = json.dumps(
        {"activities": [{"email": "taro@acme.co.jp", "type": "event", "occurred_at": "2026-04-06T10:00:00Z"}]}
    ).encode()
    header = sign(source.secret, body, int(time.time()))

    def send() -> int:
        response = Client().post(
            f"/intake/hooks/{source.key}",
            body,
            content_type="application/json",
            HTTP_X_KYOGYO_SIGNATURE=header,
        )
        return response.status_code

    assert sorted(run_together(send, send, send)) == [200, 409, 409]
    assert Activity.objects.filter(type="event").count() == 1
