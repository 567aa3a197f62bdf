"""Field Sales accepting an expansion hand-back opens its deal, in the same transaction as the
accept (``handoffs.actions.accept_handoff`` saves the closed handoff; this runs on that save)."""

from __future__ import annotations

from typing import Any

from kyogyo.handoffs.models import Handoff


def open_deal_of_accepted_expansion(sender: Any, instance: Handoff, **kwargs: Any) -> None:
    update_fields = kwargs.get("update_fields")
    if instance.status != Handoff.Status.ACCEPTED or (update_fields and "status" not in update_fields):
        return
    from kyogyo.success.actions import open_expansion_deal
    from kyogyo.success.models import ExpansionHandback

    handback = (
        ExpansionHandback.objects.select_related("subscription__account", "handoff")
        .filter(handoff_id=instance.pk, deal__isnull=True)
        .first()
    )
    if handback is not None:
        open_expansion_deal(handback)
