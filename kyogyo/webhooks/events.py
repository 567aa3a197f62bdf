"""The ``data`` of each event type, built from the records the event is about. Keys and
ids, never display names (those change and are translated)."""

from __future__ import annotations

from typing import Any

from kyogyo.deals.models import Deal
from kyogyo.handoffs.models import Handoff
from kyogyo.journey.models import Transition
from kyogyo.success.models import SubscriptionChange


def _username(user: Any) -> str | None:
    return user.get_username() if user is not None else None


def stage_changed(transition: Transition) -> dict[str, Any]:
    row = Transition.objects.select_related("from_stage", "to_stage", "actor", "reason", "subject").get(
        pk=transition.pk
    )
    return {
        "transition_id": row.pk,
        "subject_id": row.subject_id,
        "email": row.subject.email,
        "account_id": row.subject.account_id,
        "from_stage": row.from_stage.key if row.from_stage else None,
        "to_stage": row.to_stage.key,
        "at": row.at,
        "via": row.via,
        "actor": _username(row.actor),
        "reason": row.reason.key if row.reason else None,
        "is_reentry": row.is_reentry,
    }


def handoff(pk: int) -> dict[str, Any]:
    row = Handoff.objects.select_related(
        "stage", "from_team", "to_team", "assigned_to", "acted_by", "reason", "subject"
    ).get(pk=pk)
    return {
        "handoff_id": row.pk,
        "subject_id": row.subject_id,
        "email": row.subject.email,
        "stage": row.stage.key,
        "from_team": row.from_team.key,
        "to_team": row.to_team.key,
        "assigned_to": _username(row.assigned_to),
        "status": row.status,
        "created_at": row.created_at,
        "due_at": row.due_at,
        "acted_at": row.acted_at,
        "acted_by": _username(row.acted_by),
        "reason": row.reason.key if row.reason else None,
        "breached_at": row.breached_at,
    }


def deal(pk: int) -> dict[str, Any]:
    row = Deal.objects.select_related("pipeline_stage", "loss_reason", "owner").get(pk=pk)
    return {
        "deal_id": row.pk,
        "name": row.name,
        "account_id": row.account_id,
        "contact_id": row.contact_id,
        "amount": row.amount,
        "currency": row.currency,
        "status": row.status,
        "pipeline_stage": row.pipeline_stage.key,
        "owner": _username(row.owner),
        "loss_reason": row.loss_reason.key if row.loss_reason else None,
        "created_at": row.created_at,
        "closed_at": row.closed_at,
    }


def churn(pk: int) -> dict[str, Any]:
    change = SubscriptionChange.objects.select_related("subscription").get(pk=pk)
    sub = change.subscription
    return {
        "subscription_id": sub.pk,
        "account_id": sub.account_id,
        "plan": sub.plan,
        "currency": sub.currency,
        "mrr_before": change.mrr_before,
        "churned_on": change.occurred_on,
    }
