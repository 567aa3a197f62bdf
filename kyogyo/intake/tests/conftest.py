"""Fixtures for the intake tests: a form on a website, a signed-webhook source, and helpers
that post to them as a browser or a sending system would."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from kyogyo.webhooks.signing import sign

ORIGIN = "https://www.example.jp"
CONSENT = "I agree to receive product news from Example by email."


@pytest.fixture
def form(defaults):
    from kyogyo.intake.actions import create_form

    return create_form(
        "whitepaper",
        name="Whitepaper download",
        allowed_origins=[ORIGIN],
        field_map={
            "email": "email",
            "first_name": "first_name",
            "last_name": "last_name",
            "company": "account.name",
            "title": "title",
            "employees": "account.employee_count",
            "industry": "account.industry",
            "country": "account.country",
            "message": "payload.message",
        },
        required=["email", "company"],
        activity_type="content_download",
        consent_wording=CONSENT,
        rate_limit=50,
        # One fixed window from 2001 to 2033: no test run straddles a window boundary.
        rate_window=1_000_000_000,
    )


@pytest.fixture
def fill(client):
    """``fill(form, data, origin=ORIGIN, json_body=False, ip=…)`` posts one fill."""

    def post(
        form: Any, data: dict[str, Any], *, origin: str | None = ORIGIN, json_body: bool = False, **extra
    ):
        headers = {"HTTP_ORIGIN": origin} if origin else {}
        headers.setdefault("REMOTE_ADDR", extra.pop("ip", "203.0.113.9"))
        url = f"/intake/forms/{form.key}"
        if json_body:
            return client.post(url, json.dumps(data), content_type="application/json", **headers, **extra)
        return client.post(url, data, **headers, **extra)

    return post


@pytest.fixture
def source(defaults):
    from kyogyo.intake.actions import create_inbound_source

    return create_inbound_source(
        "events", name="Event platform", accepts=["activities", "contacts"], secret="s" * 32
    )


@pytest.fixture
def hook(client):
    """``hook(source, body, secret=…, t=…)`` posts a signed message (``body`` a dict or bytes)."""

    def post(source: Any, body: Any, *, secret: str | None = None, t: int | None = None, signature=None):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        stamp = int(time.time()) if t is None else t
        header = signature if signature is not None else sign(secret or source.secret, raw, stamp)
        extra = {"HTTP_X_KYOGYO_SIGNATURE": header} if header else {}
        return client.post(f"/intake/hooks/{source.key}", raw, content_type="application/json", **extra)

    return post


PERSON_FIELDS = {
    "email": "email",
    "first_name": "first_name",
    "last_name": "last_name",
    "company": "account.name",
    "title": "title",
}
