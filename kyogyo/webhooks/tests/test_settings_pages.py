"""Settings → webhooks over HTTP: endpoints through the webhook actions (private and local
addresses refused), the secret shown once, switch on/off and rotate after confirmation,
the delivery log and retry; admins only."""

from __future__ import annotations

import re
import uuid

import pytest

from kyogyo.webhooks.actions import create_endpoint
from kyogyo.webhooks.models import Delivery, Endpoint

PAYLOAD = "<script>alert(1)</script>"
PUBLIC = "https://hooks.invalid/in"  # does not resolve: accepted, checked again on delivery


@pytest.fixture
def admin_client(client, people):
    client.force_login(people.admin)
    return client


@pytest.fixture
def endpoint(db):
    return create_endpoint(PUBLIC, ["*"], resolver=lambda host, port: ["93.184.215.14"])


def test_members_get_the_403_page(client, people, endpoint):
    client.force_login(people.manager)
    assert client.get("/settings/webhooks/").status_code == 403
    assert client.post(f"/settings/webhooks/{endpoint.pk}/rotate-secret").status_code == 403


def test_empty_state(admin_client, people):
    assert b"No webhook endpoints yet." in admin_client.get("/settings/webhooks/").content


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1/hook", "https://10.1.2.3/hook", "https://[::1]/x", "ftp://example.com/"]
)
def test_private_and_local_addresses_are_refused_on_the_url_field(admin_client, people, url):
    response = admin_client.post("/settings/webhooks/", {"url": url, "events": ["*"]})
    assert response.status_code == 422
    assert response.context["form"].errors["url"]
    assert not Endpoint.objects.exists()


def test_an_endpoint_is_added_and_its_secret_shown_once(admin_client, people):
    response = admin_client.post(
        "/settings/webhooks/",
        {"url": PUBLIC, "events": ["deal.won", "stage.changed"], "description": PAYLOAD},
    )
    assert response.status_code == 201 and "no-store" in response["Cache-Control"]
    endpoint = Endpoint.objects.get()
    assert endpoint.events == ["deal.won", "stage.changed"]
    html = response.content.decode()
    assert endpoint.secret in html
    assert PAYLOAD not in html and "&lt;script&gt;" in html
    assert endpoint.secret not in admin_client.get("/settings/webhooks/").content.decode()
    assert endpoint.secret not in admin_client.get(f"/settings/webhooks/{endpoint.pk}/").content.decode()


def test_events_are_required(admin_client, people):
    response = admin_client.post("/settings/webhooks/", {"url": PUBLIC})
    assert response.status_code == 422 and b"This field is required." in response.content


def test_switch_off_and_on_rotate_the_secret(admin_client, people, endpoint):
    page = admin_client.get(f"/settings/webhooks/{endpoint.pk}/").content.decode()
    assert page.count("data-confirm=") == 2
    response = admin_client.post(f"/settings/webhooks/{endpoint.pk}/active", {"active": "0"}, follow=True)
    assert b"The endpoint is switched off" in response.content
    endpoint.refresh_from_db()
    assert not endpoint.active
    old = endpoint.secret
    response = admin_client.post(f"/settings/webhooks/{endpoint.pk}/rotate-secret")
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.secret in response.content.decode()


def test_edit_refuses_a_private_address_and_keeps_the_old_one(admin_client, people, endpoint):
    response = admin_client.post(
        f"/settings/webhooks/{endpoint.pk}/", {"url": "http://192.168.1.9/", "events": ["*"]}
    )
    assert response.status_code == 422
    endpoint.refresh_from_db()
    assert endpoint.url == PUBLIC


def test_the_delivery_log_and_retry(admin_client, people, endpoint, django_assert_max_num_queries):
    failed = Delivery.objects.create(
        endpoint=endpoint,
        event_id=uuid.uuid4(),
        event_type="deal.won",
        body="{}",
        status="failed",
        attempts=8,
        error=PAYLOAD,
    )
    Delivery.objects.create(
        endpoint=endpoint,
        event_id=uuid.uuid4(),
        event_type="stage.changed",
        body="{}",
        status="delivered",
        attempts=1,
        response_code=200,
    )
    with django_assert_max_num_queries(8):
        html = admin_client.get(f"/settings/webhooks/{endpoint.pk}/").content.decode()
    assert f'id="delivery-{failed.pk}"' in html and PAYLOAD not in html
    assert len(re.findall(r"Retry</button>", html)) == 1
    html = admin_client.get(f"/settings/webhooks/{endpoint.pk}/?status=delivered").content.decode()
    assert f'id="delivery-{failed.pk}"' not in html
    response = admin_client.post(f"/settings/webhooks/deliveries/{failed.pk}/retry", follow=True)
    assert b"sent again at the next run" in response.content
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("pending", 0)
