"""Deals follow the journey where a handoff decision concerns them."""

from __future__ import annotations

from typing import Any

from kyogyo.deals.actions import QUALIFIED_STAGE, close_after_reject
from kyogyo.journey.models import Stage


def close_deals_of_rejected_sql(sender: Any, handoff: Any, target: str, at: Any, **kwargs: Any) -> None:
    """An SQL rejected into nurture or disqualified has no pipeline any more; rejected back
    to Inside Sales (more information needed) it keeps its deal for the re-qualification."""
    if handoff.stage.key != QUALIFIED_STAGE:
        return
    category = Stage.objects.filter(key=target).values_list("category", flat=True).first()
    if category in (Stage.Category.RECYCLE, Stage.Category.EXIT):
        close_after_reject(handoff.subject, at=at)
