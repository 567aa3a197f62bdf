"""Endpoints are added, changed and switched off here; events become deliveries here."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from kyogyo.webhooks import destinations
from kyogyo.webhooks.models import Delivery, Endpoint

EVENT_TYPES = (
    "stage.changed",
    "handoff.created",
    "handoff.accepted",
    "handoff.rejected",
    "handoff.breached",
    "deal.won",
    "deal.lost",
    "subscription.churned",
)


#: how long a process trusts its list of subscribed event types; an endpoint added by another
#: process receives events at the latest this many seconds later
SUBSCRIPTIONS_TTL_SECONDS = 5.0
_subscribed: tuple[float, frozenset[str]] | None = None


def subscribed_types() -> frozenset[str]:
    """The event types some active endpoint wants (``*`` included), so that events nobody
    wants (a bulk import's stage changes, say) cost no query at all."""
    global _subscribed
    now = time.monotonic()
    if _subscribed is None or now - _subscribed[0] > SUBSCRIPTIONS_TTL_SECONDS:
        wanted: set[str] = set()
        for events in Endpoint.objects.filter(active=True).values_list("events", flat=True):
            wanted.update(events)
        _subscribed = (now, frozenset(wanted))
    return _subscribed[1]


def is_wanted(event_type: str) -> bool:
    """Some active endpoint may want ``event_type`` (no query while the list is fresh)."""
    wanted = subscribed_types()
    return "*" in wanted or event_type in wanted


def forget_subscriptions(**kwargs: Any) -> None:
    """Connected to the saving and deleting of endpoints: this process reads them again."""
    global _subscribed
    _subscribed = None


class _Encoder(DjangoJSONEncoder):
    """Times in UTC (``2026-04-06T01:00:00Z``), whatever time zone the record was read in."""

    def default(self, o: Any) -> Any:
        if isinstance(o, dt.datetime) and o.tzinfo is not None:
            o = o.astimezone(dt.UTC)
        return super().default(o)


class WebhookError(ValueError):
    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


def _check_events(events: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(e.strip() for e in events if e.strip()))
    if not chosen:
        raise WebhookError("no_events", "subscribe to at least one event type (or * for all)")
    unknown = [e for e in chosen if e != "*" and e not in EVENT_TYPES]
    if unknown:
        raise WebhookError(
            "unknown_event", f"unknown event type(s): {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}"
        )
    return ["*"] if "*" in chosen else chosen


def _check_url(url: str, resolver: destinations.Resolver | None) -> str:
    if len(url) > 500:
        raise WebhookError("bad_url", "the URL is longer than 500 characters")
    try:
        destinations.check_url(url, resolver)
    except destinations.DestinationError as exc:
        raise WebhookError(exc.code, str(exc)) from exc
    return url


def create_endpoint(
    url: str,
    events: Iterable[str],
    *,
    secret: str | None = None,
    description: str = "",
    resolver: destinations.Resolver | None = destinations.system_resolve,
) -> Endpoint:
    """A new endpoint; without ``secret`` one is generated (show it to the user once)."""
    url = _check_url(url, resolver)
    chosen = _check_events(events)
    if secret is not None and len(secret) < 16:
        raise WebhookError("weak_secret", "the secret must be at least 16 characters")
    return Endpoint.objects.create(
        url=url, events=chosen, secret=secret or secrets.token_urlsafe(32), description=description[:200]
    )


def update_endpoint(
    endpoint: Endpoint,
    *,
    url: str | None = None,
    events: Iterable[str] | None = None,
    active: bool | None = None,
    rotate_secret: bool = False,
    resolver: destinations.Resolver | None = destinations.system_resolve,
) -> Endpoint:
    if url is not None:
        endpoint.url = _check_url(url, resolver)
    if events is not None:
        endpoint.events = _check_events(events)
    if active is not None:
        endpoint.active = active
    if rotate_secret:
        endpoint.secret = secrets.token_urlsafe(32)
    endpoint.save()
    return endpoint


def record_event(
    event_type: str,
    data: dict[str, Any] | Callable[[], dict[str, Any]],
    *,
    at: dt.datetime | None = None,
) -> list[Delivery]:
    """One delivery per active endpoint subscribed to ``event_type``, due now. ``data`` may be
    a function, called only when some endpoint wants the event. The body is fixed here, so
    every attempt sends (and signs) the same bytes."""
    if event_type not in EVENT_TYPES:
        raise WebhookError("unknown_event", f"unknown event type {event_type!r}")
    if not is_wanted(event_type):
        return []
    endpoints = [e for e in Endpoint.objects.filter(active=True) if e.wants(event_type)]
    if not endpoints:
        return []
    if callable(data):
        data = data()
    now = timezone.now()
    event_id = uuid.uuid4()
    envelope = {"id": str(event_id), "type": event_type, "time": at or now, "data": data}
    body = json.dumps(envelope, cls=_Encoder, ensure_ascii=False, separators=(",", ":"))
    with transaction.atomic():
        return Delivery.objects.bulk_create(
            Delivery(
                endpoint=e,
                event_id=event_id,
                event_type=event_type,
                body=body,
                created_at=now,
                next_attempt_at=now,
            )
            for e in endpoints
        )


def retry_delivery(delivery: Delivery) -> Delivery:
    """Send a failed (or pending) delivery again at the next run, with a fresh set of attempts."""
    if delivery.status == Delivery.Status.DELIVERED:
        raise WebhookError("delivered", "this delivery already succeeded")
    delivery.status, delivery.attempts, delivery.next_attempt_at = Delivery.Status.PENDING, 0, timezone.now()
    delivery.save(update_fields=["status", "attempts", "next_attempt_at"])
    return delivery
