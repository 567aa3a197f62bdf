"""Events into deliveries. Each receiver runs inside the causing transaction and only writes
delivery rows, in a savepoint: the deliveries commit with the change (a process killed or a
database lost just after the commit loses no event; a rolled-back change sends nothing),
and a failure here is logged and rolled back alone, never reaching the action — unless the
database itself is failing, when the action fails with it (it could not commit anyway).

Sources: the journey's ``stage_changed`` and ``handoff_event`` signals (sent in the
transaction, see ``kyogyo.journey.signals``); deals won or lost and churn have no signal of
their own, so ``post_save`` of ``Deal`` (an update that sets status won/lost) and of
``SubscriptionChange`` (a churn row) record the event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import InterfaceError, OperationalError, transaction

from kyogyo.deals.models import Deal
from kyogyo.success.models import SubscriptionChange
from kyogyo.webhooks import events
from kyogyo.webhooks.actions import is_wanted, record_event

log = logging.getLogger(__name__)


def _safely(event_type: str, data: Callable[[], dict[str, Any]]) -> None:
    if not is_wanted(event_type):  # before the savepoint: events nobody wants cost no query
        return
    try:
        with transaction.atomic():  # a savepoint: a failure undoes the recording, not the action
            record_event(event_type, data)
    except (OperationalError, InterfaceError):
        raise  # the database is failing: the action cannot commit either, and must not without its event
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
    pk = instance.pk
    _safely(f"deal.{instance.status}", lambda: events.deal(pk))


def on_subscription_change_saved(
    sender: Any, instance: SubscriptionChange, created: bool, **kwargs: Any
) -> None:
    if not created or instance.kind != SubscriptionChange.Kind.CHURN:
        return
    pk = instance.pk
    _safely("subscription.churned", lambda: events.churn(pk))
