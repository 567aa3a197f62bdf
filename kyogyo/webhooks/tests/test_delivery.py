"""Delivering: signed POSTs through ``httpx.MockTransport`` (the outside service), sent to
the checked address, retried with exponential backoff up to the maximum, every attempt in
the delivery log."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from kyogyo.testing import T0
from kyogyo.webhooks import signing
from kyogyo.webhooks.actions import WebhookError, create_endpoint, record_event, retry_delivery
from kyogyo.webhooks.delivery import MAX_ATTEMPTS, backoff, deliver_due
from kyogyo.webhooks.models import Delivery

PUBLIC = "93.184.215.14"
SECRET = "s3cret-s3cret-s3cret"


def resolver(*answers: str):
    return lambda host, port: list(answers or [PUBLIC])


def endpoint(url: str = "https://hooks.example.com/in?token=1", events=("*",)):
    return create_endpoint(url, events, secret=SECRET, resolver=resolver())


def due() -> dt.datetime:
    """When the oldest pending delivery is due (deliveries are due when recorded, wall clock)."""
    return Delivery.objects.filter(status="pending").order_by("next_attempt_at")[0].next_attempt_at


class Receiver:
    """The far end: records requests, answers with the scripted status codes in turn."""

    def __init__(self, *codes: int, headers: dict[str, str] | None = None):
        self.codes = list(codes) or [200]
        self.headers = headers or {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        code = self.codes.pop(0) if len(self.codes) > 1 else self.codes[0]
        return httpx.Response(code, headers=self.headers)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def test_a_delivery_is_a_signed_json_post_to_the_checked_address(db):
    hook = endpoint()
    [delivery] = record_event("deal.won", {"deal_id": 7, "amount": 1_200_000}, at=T0)
    far = Receiver(204)
    now = due()

    run = deliver_due(now=now, transport=far.transport, resolver=resolver())

    assert (run.delivered, run.retrying, run.failed) == (1, 0, 0)
    [request] = far.requests
    assert request.method == "POST"
    assert (request.url.scheme, request.url.host, request.url.raw_path) == ("https", PUBLIC, b"/in?token=1")
    assert request.url.port is None  # the default, 443
    assert request.headers["host"] == "hooks.example.com"
    assert request.extensions["sni_hostname"] == "hooks.example.com"
    assert request.headers["x-kyogyo-event"] == "deal.won"
    assert request.headers["x-kyogyo-delivery"] == str(delivery.event_id)
    body = json.loads(request.content)
    assert body == {
        "id": str(delivery.event_id),
        "type": "deal.won",
        "time": "2026-04-06T01:00:00Z",
        "data": {"deal_id": 7, "amount": 1_200_000},
    }
    header = request.headers["x-kyogyo-signature"]
    assert header.startswith(f"t={int(now.timestamp())},v1=")
    assert signing.verify(hook.secret, request.content, header, now=now.timestamp() + 10)
    stored = Delivery.objects.get()
    assert (stored.status, stored.attempts, stored.response_code, stored.next_attempt_at) == (
        "delivered",
        1,
        204,
        None,
    )
    assert stored.response_ms is not None and stored.error == ""


def test_signature_verification_refuses_a_changed_body_a_wrong_secret_and_an_old_timestamp():
    body = b'{"id":"x"}'
    header = signing.sign(SECRET, body, 1_700_000_000)
    assert signing.verify(SECRET, body, header, now=1_700_000_100)
    assert not signing.verify(SECRET, body + b" ", header, now=1_700_000_100)
    assert not signing.verify("another-secret-entirely", body, header, now=1_700_000_100)
    assert not signing.verify(SECRET, body, header, now=1_700_000_000 + 301)
    assert not signing.verify(SECRET, body, "v1=abc", now=1_700_000_000)
    assert not signing.verify(SECRET, body, "garbage", now=1_700_000_000)
    # a receiver can check by hand: HMAC-SHA256 of "t.body"
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_failures_are_retried_with_exponential_backoff_then_given_up(db):
    endpoint()
    record_event("handoff.breached", {"handoff_id": 1}, at=T0)
    far = Receiver(500)
    start = now = due()
    waits = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert deliver_due(now=now - dt.timedelta(seconds=1), transport=far.transport).attempted == 0
        run = deliver_due(now=now, transport=far.transport, resolver=resolver())
        assert run.attempted == 1
        stored = Delivery.objects.get()
        assert (stored.attempts, stored.response_code, stored.error) == (attempt, 500, "HTTP 500")
        if attempt < MAX_ATTEMPTS:
            assert stored.status == "pending" and stored.next_attempt_at is not None
            waits.append(stored.next_attempt_at - now)
            now = stored.next_attempt_at
    assert waits == [dt.timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32, 64)]
    assert [backoff(n) for n in (1, 2, 10, 20)][-1] == dt.timedelta(hours=6)
    assert (stored.status, stored.next_attempt_at) == ("failed", None)
    assert run.failed == 1 and "gave up" in run.errors[0]
    assert len(far.requests) == MAX_ATTEMPTS
    # every attempt signs the same body with its own time
    assert len({r.content for r in far.requests}) == 1
    assert len({r.headers["x-kyogyo-signature"] for r in far.requests}) == MAX_ATTEMPTS
    assert deliver_due(now=now + dt.timedelta(days=1), transport=far.transport).attempted == 0

    retry_delivery(stored)
    ok = deliver_due(now=start + dt.timedelta(days=2), transport=Receiver(200).transport, resolver=resolver())
    assert ok.delivered == 1 and Delivery.objects.get().status == "delivered"
    with pytest.raises(WebhookError):
        retry_delivery(Delivery.objects.get())


def test_a_failure_then_success_keeps_the_log_of_the_last_attempt(db):
    endpoint()
    record_event("deal.lost", {"deal_id": 1}, at=T0)
    far = Receiver(503, 200)
    deliver_due(now=due(), transport=far.transport, resolver=resolver())
    first = Delivery.objects.get()
    assert (first.status, first.attempts, first.response_code) == ("pending", 1, 503)
    deliver_due(now=first.next_attempt_at, transport=far.transport, resolver=resolver())
    done = Delivery.objects.get()
    assert (done.status, done.attempts, done.response_code, done.error) == ("delivered", 2, 200, "")


def test_redirects_are_not_followed(db):
    endpoint()
    record_event("deal.won", {"deal_id": 1}, at=T0)
    far = Receiver(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    run = deliver_due(now=due(), transport=far.transport, resolver=resolver())
    assert run.retrying == 1 and len(far.requests) == 1
    stored = Delivery.objects.get()
    assert stored.response_code == 302 and "not followed" in stored.error


def test_a_name_that_now_resolves_to_a_private_address_is_not_contacted(db):
    endpoint()
    record_event("deal.won", {"deal_id": 1}, at=T0)
    far = Receiver(200)
    run = deliver_due(now=due(), transport=far.transport, resolver=resolver("169.254.169.254"))
    assert run.retrying == 1 and far.requests == []
    stored = Delivery.objects.get()
    assert stored.error.startswith("blocked_address:") and stored.response_code is None


def test_network_errors_are_logged_and_retried(db):
    endpoint()
    record_event("deal.won", {"deal_id": 1}, at=T0)

    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    run = deliver_due(now=due(), transport=httpx.MockTransport(refuse), resolver=resolver())
    assert run.retrying == 1
    assert Delivery.objects.get().error == "ConnectError: connection refused"


def test_ipv6_addresses_and_ports_reach_the_right_place(db):
    endpoint("http://hooks.example.com:8080/x")
    record_event("deal.won", {"deal_id": 1}, at=T0)
    far = Receiver(200)
    deliver_due(
        now=due(), transport=far.transport, resolver=resolver("2606:2800:21f:cb07:6820:80da:af6b:8b2c")
    )
    [request] = far.requests
    assert request.url.host == "2606:2800:21f:cb07:6820:80da:af6b:8b2c" and request.url.port == 8080
    assert request.headers["host"] == "hooks.example.com:8080"
    assert "sni_hostname" not in request.extensions


def test_only_subscribed_active_endpoints_get_the_event_and_switched_off_ones_wait(db):
    wants_deals = endpoint("https://a.example.com/", ["deal.won", "deal.lost"])
    endpoint("https://b.example.com/", ["stage.changed"])
    everything = endpoint("https://c.example.com/", ["*"])
    deliveries = record_event("deal.won", {"deal_id": 1}, at=T0)
    assert sorted(d.endpoint_id for d in deliveries) == [wants_deals.pk, everything.pk]
    assert len({d.event_id for d in deliveries}) == 1

    everything.active = False
    everything.save()
    far = Receiver(200)
    assert deliver_due(now=due(), transport=far.transport, resolver=resolver()).delivered == 1
    assert Delivery.objects.get(endpoint=everything).status == "pending"
    assert record_event("handoff.created", {"handoff_id": 1}) == []


@pytest.mark.parametrize(
    ("url", "events", "secret", "code"),
    [
        ("http://127.1/", ["*"], None, "blocked_address"),
        ("https://hooks.example.com/", [], None, "no_events"),
        ("https://hooks.example.com/", ["deal.wonn"], None, "unknown_event"),
        ("https://hooks.example.com/", ["*"], "short", "weak_secret"),
        ("https://" + "a" * 500 + ".com/", ["*"], None, "bad_url"),
    ],
)
def test_bad_endpoints_are_refused_with_a_code_and_nothing_saved(db, url, events, secret, code):
    with pytest.raises(WebhookError) as caught:
        create_endpoint(url, events, secret=secret, resolver=resolver())
    assert caught.value.code == code
    from kyogyo.webhooks.models import Endpoint

    assert not Endpoint.objects.exists()


def test_an_endpoint_gets_a_strong_secret_when_none_is_given(db):
    hook = create_endpoint("https://hooks.example.com/", ["*"], resolver=resolver())
    assert len(hook.secret) >= 40


def test_a_delivery_claimed_by_one_worker_is_not_sent_by_another(db):
    from kyogyo.webhooks.delivery import INTERRUPTED, _claim

    LEASE = dt.timedelta(minutes=5)  # KYOGYO_WEBHOOKS_LEASE_SECONDS' default

    endpoint()
    record_event("deal.won", {"deal_id": 1}, at=T0)
    now = due()
    seen_by_first = Delivery.objects.get()
    seen_by_second = Delivery.objects.get()
    assert _claim(seen_by_first, now)
    assert not _claim(seen_by_second, now)  # its view of next_attempt_at is stale
    claimed = Delivery.objects.get()
    assert claimed.next_attempt_at == now + LEASE
    # the claim counts the attempt: a worker that dies now leaves it in the log as interrupted
    assert (claimed.attempts, claimed.last_attempt_at, claimed.error) == (1, now, INTERRUPTED)
    # the lease hides it from a run until it expires (a worker that died mid-send)
    assert deliver_due(now=now, transport=Receiver(200).transport, resolver=resolver()).attempted == 0
    later = deliver_due(now=now + LEASE, transport=Receiver(200).transport, resolver=resolver())
    assert later.delivered == 1
    sent = Delivery.objects.get()
    assert (sent.status, sent.attempts, sent.response_code, sent.error) == ("delivered", 2, 200, "")


def test_a_delivery_interrupted_at_every_attempt_is_given_up(db, settings):
    """A body that kills its sender each time does not come back for ever: after
    ``MAX_ATTEMPTS`` claims it fails like any other."""
    from kyogyo.webhooks.delivery import INTERRUPTED, MAX_ATTEMPTS, _claim

    settings.KYOGYO_WEBHOOKS_LEASE_SECONDS = 60
    endpoint()
    record_event("deal.won", {"deal_id": 1}, at=T0)
    now = due()
    for n in range(MAX_ATTEMPTS):  # each claim's sender dies before recording the outcome
        assert _claim(Delivery.objects.get(), now + dt.timedelta(minutes=n))
    run = deliver_due(now=now + dt.timedelta(hours=1), transport=Receiver(200).transport, resolver=resolver())
    assert (run.failed, run.delivered) == (1, 0)
    gave_up = Delivery.objects.get()
    assert (gave_up.status, gave_up.attempts, gave_up.error) == ("failed", MAX_ATTEMPTS, INTERRUPTED)


def test_the_scheduled_job_runs_with_nothing_due(db):
    from kyogyo.ops import jobs, schedules

    assert jobs.deliver_webhooks() == 0
    assert ("Webhook delivery", "kyogyo.ops.jobs.deliver_webhooks", 1) in schedules.JOBS


def test_events_nobody_subscribes_to_cost_no_query(db, django_assert_num_queries):
    from kyogyo.webhooks.actions import forget_subscriptions

    forget_subscriptions()
    calls = []

    def data():
        calls.append(1)
        return {"subject_id": 1}

    assert record_event("stage.changed", data) == []  # reads the subscriptions once
    with django_assert_num_queries(0):
        assert record_event("stage.changed", data) == []
    assert calls == []

    hook = endpoint("https://hooks.example.com/", ["stage.changed"])  # saving forgets the cache
    assert [d.endpoint_id for d in record_event("stage.changed", data)] == [hook.pk]
    with django_assert_num_queries(0):
        assert record_event("deal.won", {"deal_id": 1}) == []
    hook.delete()
    assert record_event("stage.changed", data) == []
    assert calls == [1]
