"""Who may open the health-check pages (see kyogyo/web/tests/matrix.py): every member reads
them; managers and admins fill in and edit (access.can_assess_health)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from kyogyo.web.tests.matrix import MEMBERS, Page

ASSESSORS = frozenset({"manager", "admin"})


def assessment(data: SimpleNamespace) -> list[int]:
    """One assessment to open (made once, found again on later calls)."""
    from kyogyo.healthcheck.actions import create_assessment
    from kyogyo.healthcheck.models import Assessment

    found = Assessment.objects.first()
    if found is None:
        found = create_assessment(
            actor=data.people.manager, assessed_on=dt.date(2026, 11, 1), marks={"kpi.linked": ("partly", "")}
        )
    return [found.pk]


PAGES = {
    "healthcheck:list": Page(read=MEMBERS),
    "healthcheck:new": Page(read=ASSESSORS, write=ASSESSORS),
    "healthcheck:compare": Page(read=MEMBERS),
    "healthcheck:detail": Page(read=MEMBERS, args=assessment),
    "healthcheck:edit": Page(read=ASSESSORS, write=ASSESSORS, args=assessment),
    "healthcheck:xlsx": Page(read=MEMBERS, args=assessment),
    "healthcheck:pdf": Page(read=MEMBERS, args=assessment),
}
