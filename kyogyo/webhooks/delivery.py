"""Sending due deliveries: run by the scheduled job (``kyogyo.ops.jobs.deliver_webhooks``)
and by ``kyogyo webhooks deliver``. Never called from the action that raised the event.

Each delivery is claimed with a compare-and-set on its next-attempt time (a lease), so two
workers never send the same attempt; the HTTP request runs outside any transaction. The
claim counts the attempt, so a sender that dies mid-attempt (killed, its database lost)
leaves it in the log as an interrupted attempt; the delivery is sent again when the lease
runs out. Delivery is therefore at least once: receivers deduplicate on the delivery id. The
destination is checked again after DNS resolution and the request goes to the checked
address (Host header and TLS server name keep the endpoint's name); redirects are not
followed; proxies from the environment are ignored.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import time
from dataclasses import dataclass, field

import httpx
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from kyogyo.webhooks import destinations, signing
from kyogyo.webhooks.models import Delivery

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE = dt.timedelta(minutes=1)
BACKOFF_CAP = dt.timedelta(hours=6)
INTERRUPTED = "interrupted: the sender stopped before it recorded the outcome; sent again after the lease"
TIMEOUT_SECONDS = 10.0
ERROR_MAX_LENGTH = 1000
USER_AGENT = "Kyogyo-Webhooks/1"


def lease() -> dt.timedelta:
    """How long a claimed delivery is left to its sender (``KYOGYO_WEBHOOKS_LEASE_SECONDS``)."""
    return dt.timedelta(seconds=int(getattr(settings, "KYOGYO_WEBHOOKS_LEASE_SECONDS", 300)))


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next attempt after ``attempts`` failed ones: 1, 2, 4 … minutes, at most 6 h."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


@dataclass
class Run:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return self.delivered + self.retrying + self.failed


@dataclass
class Outcome:
    ok: bool
    code: int | None = None
    ms: int | None = None
    error: str = ""


def _address_url(dest: destinations.Destination, ip: destinations.IPAddress) -> str:
    host = f"[{ip}]" if isinstance(ip, ipaddress.IPv6Address) else str(ip)
    return f"{dest.scheme}://{host}:{dest.port}{dest.target}"


def _host_header(dest: destinations.Destination) -> str:
    host = f"[{dest.host}]" if ":" in dest.host else dest.host
    default = 443 if dest.scheme == "https" else 80
    return host if dest.port == default else f"{host}:{dest.port}"


def send(
    delivery: Delivery,
    client: httpx.Client,
    *,
    resolver: destinations.Resolver = destinations.system_resolve,
    now: dt.datetime | None = None,
) -> Outcome:
    """One attempt: check the destination, sign, POST; 2xx is success, anything else is not."""
    endpoint = delivery.endpoint
    try:
        dest = destinations.parse(endpoint.url)
        ip = destinations.resolve(dest, resolver)
    except destinations.DestinationError as exc:
        return Outcome(False, error=f"{exc.code}: {exc}")
    body = delivery.body.encode()
    timestamp = int((now or timezone.now()).timestamp())
    headers = {
        "Host": _host_header(dest),
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Kyogyo-Event": delivery.event_type,
        "X-Kyogyo-Delivery": str(delivery.event_id),
        signing.HEADER: signing.sign(endpoint.secret, body, timestamp),
    }
    extensions = {}
    if dest.scheme == "https" and destinations.literal_address(dest.host) is None:
        extensions["sni_hostname"] = dest.host
    request = client.build_request(
        "POST", _address_url(dest, ip), content=body, headers=headers, extensions=extensions
    )
    started = time.monotonic()
    try:
        response = client.send(request, follow_redirects=False)
        response.close()
    except httpx.HTTPError as exc:
        ms = int((time.monotonic() - started) * 1000)
        return Outcome(False, ms=ms, error=f"{type(exc).__name__}: {exc}"[:ERROR_MAX_LENGTH])
    ms = int((time.monotonic() - started) * 1000)
    code = response.status_code
    if 200 <= code < 300:
        return Outcome(True, code, ms)
    if response.is_redirect:
        where = response.headers.get("location", "")
        return Outcome(False, code, ms, f"redirect to {where!r} not followed"[:ERROR_MAX_LENGTH])
    return Outcome(False, code, ms, f"HTTP {code}")


def _claim(delivery: Delivery, now: dt.datetime) -> bool:
    """Take the delivery for one attempt, counted now: if this process dies before
    ``_record``, the log says the attempt was interrupted and the lease brings it back."""
    claimed = Delivery.objects.filter(
        pk=delivery.pk, status=Delivery.Status.PENDING, next_attempt_at=delivery.next_attempt_at
    ).update(
        next_attempt_at=now + lease(), attempts=F("attempts") + 1, last_attempt_at=now, error=INTERRUPTED
    )
    if claimed != 1:
        return False
    delivery.attempts += 1
    return True


def _give_up_interrupted(now: dt.datetime) -> int:
    """Deliveries whose every attempt was interrupted (a body that kills its sender each
    time) fail as others do after ``MAX_ATTEMPTS``, instead of coming back for ever."""
    return Delivery.objects.filter(
        status=Delivery.Status.PENDING, attempts__gte=MAX_ATTEMPTS, next_attempt_at__lte=now
    ).update(status=Delivery.Status.FAILED, next_attempt_at=None)


def _record(delivery: Delivery, outcome: Outcome, now: dt.datetime) -> str:
    delivery.last_attempt_at = now
    delivery.response_code, delivery.response_ms, delivery.error = outcome.code, outcome.ms, outcome.error
    if outcome.ok:
        delivery.status, delivery.next_attempt_at = Delivery.Status.DELIVERED, None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status, delivery.next_attempt_at = Delivery.Status.FAILED, None
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    delivery.save(
        update_fields=[
            "attempts",
            "last_attempt_at",
            "response_code",
            "response_ms",
            "error",
            "status",
            "next_attempt_at",
        ]
    )
    return delivery.status


def deliver_due(
    *,
    now: dt.datetime | None = None,
    transport: httpx.BaseTransport | None = None,
    resolver: destinations.Resolver = destinations.system_resolve,
    limit: int = 100,
) -> Run:
    """Attempt every pending delivery that is due (oldest first, at most ``limit``) to an
    active endpoint; failures are rescheduled with exponential backoff until ``MAX_ATTEMPTS``."""
    now = now or timezone.now()
    run = Run(failed=_give_up_interrupted(now))
    due = list(
        Delivery.objects.select_related("endpoint")
        .filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now, endpoint__active=True)
        .order_by("next_attempt_at", "pk")[:limit]
    )
    if not due:
        return run
    with httpx.Client(transport=transport, timeout=TIMEOUT_SECONDS, trust_env=False) as client:
        for delivery in due:
            if not _claim(delivery, now):
                continue
            try:
                outcome = send(delivery, client, resolver=resolver, now=now)
            except Exception as exc:  # a bug must not stop the other deliveries
                log.exception("webhook delivery %s failed unexpectedly", delivery.pk)
                outcome = Outcome(
                    False, error=f"internal error: {type(exc).__name__}: {exc}"[:ERROR_MAX_LENGTH]
                )
            status = _record(delivery, outcome, now)
            if status == Delivery.Status.DELIVERED:
                run.delivered += 1
            elif status == Delivery.Status.FAILED:
                run.failed += 1
                run.errors.append(
                    f"delivery {delivery.pk} to {delivery.endpoint.url}: gave up: {outcome.error}"
                )
            else:
                run.retrying += 1
    return run
