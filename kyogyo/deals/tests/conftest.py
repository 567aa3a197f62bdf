"""Deals for the board's tests: ``deal_in(stage, amount=…, days=…)`` opens a deal through the
actions (lead → MQL → SAL → SQL with a deal → Field Sales accepts: opportunity) and puts it in
a pipeline stage since ``days`` ago; ``accepted=False`` leaves the Field Sales handoff open."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kyogyo.deals.actions import qualify
from kyogyo.deals.models import Deal, PipelineStage
from kyogyo.handoffs.actions import accept_handoff
from kyogyo.handoffs.models import Handoff
from kyogyo.journey.actions import advance


def open_handoff(contact) -> Handoff:
    return Handoff.objects.get(subject=contact, status=Handoff.Status.OPEN)


@pytest.fixture
def deal_in(people, make_contact):
    def make(
        stage: str = "discovery",
        *,
        amount: int = 1_000_000,
        days: float = 0,
        name: str = "Pilot",
        accepted: bool = True,
        owner=None,
        employees: int | None = 500,
        **contact_fields,
    ) -> Deal:
        start = timezone.now() - dt.timedelta(days=days, hours=1)
        contact = make_contact(at=start - dt.timedelta(hours=1), employees=employees, **contact_fields)
        advance(contact, "mql", actor=people.marketer, at=start - dt.timedelta(minutes=50))
        accept_handoff(open_handoff(contact), actor=people.is_rep, at=start - dt.timedelta(minutes=40))
        deal = qualify(
            contact, actor=people.is_rep, name=name, amount=amount, at=start - dt.timedelta(minutes=30)
        )
        if accepted:
            handoff = open_handoff(contact)
            accept_handoff(handoff, actor=handoff.assigned_to, at=start - dt.timedelta(minutes=20))
        since = timezone.now() - dt.timedelta(days=days)
        changes = {"pipeline_stage": PipelineStage.objects.get(key=stage), "stage_changed_at": since}
        if owner is not None:
            changes["owner"] = owner
        Deal.objects.filter(pk=deal.pk).update(**changes)
        return Deal.objects.select_related("pipeline_stage", "owner").get(pk=deal.pk)

    return make
