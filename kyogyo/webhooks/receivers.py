"""Events into deliveries. Each receiver runs after the causing transaction commits and
only writes delivery rows; a failure here is logged and never reaches the action.

Sources: the journey's ``stage_changed`` and ``handoff_event`` signals (sent on commit);
deals won or lost and churn have no signal of their own, so ``post_save`` of ``Deal``
(an update that sets status won/lost) and of ``SubscriptionChange`` (a churn row) schedule
the event with ``transaction.on_commit`` — a rolled-back action sends nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction

from kyogyo.deals.models import Deal
from kyogyo.success.models import SubscriptionChange
from kyogyo.webhooks import events
from kyogyo.webhooks.actions import record_event

log = logging.getLogger(__name__)


def _safely(event_type: str, data: Callable[[], dict[str, Any]]) -> None:
    try:
        record_event(event_type, data)
    except Exception:
        log.exception("could not record the %s webhook event", event_type)


def on_stage_changed(sender: Any, transition: Any, **kwargs: Any) -> None:
    _safely("stage.changed", lambda: events.stage_changed(transition))


def on_handoff_event(sender: Any, handoff: Any, event: str, **kwargs: Any) -> None:
    ids = [handoff.pk] if handoff is not None else list(kwargs.get("handoff_ids") or [])
    for pk in ids:
        _safely(f"handoff.{event}", lambda pk=pk: events.handoff(pk))  # type: ignore[misc]


def on_deal_saved(
    sender: Any, instance: Deal, created: bool, update_fields: Any = None, **kwargs: Any
) -> None:
    if created or not update_fields or "status" not in update_fields:
        return
    if instance.status not in (Deal.Status.WON, Deal.Status.LOST):
        return
    pk, event_type = instance.pk, f"deal.{instance.status}"
    transaction.on_commit(lambda: _safely(event_type, lambda: events.deal(pk)))


def on_subscription_change_saved(
    sender: Any, instance: SubscriptionChange, created: bool, **kwargs: Any
) -> None:
    if not created or instance.kind != SubscriptionChange.Kind.CHURN:
        return
    pk = instance.pk
    transaction.on_commit(lambda: _safely("subscription.churned", lambda: events.churn(pk)))
