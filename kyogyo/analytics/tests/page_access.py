"""Who may open The Model's pages (see kyogyo/web/tests/matrix.py): every member reads the
numbers; computing scenarios is a post every member may make, saving one is for managers
and admins (tested in test_planning.py)."""

import datetime as dt

from kyogyo.web.tests.matrix import MEMBERS, Page


def _saved_plan(data):
    from django.utils import timezone

    from kyogyo.analytics.models import SavedPlan

    plan = SavedPlan.objects.create(
        name="FY2026",
        starts_on=dt.date(2026, 4, 1),
        ends_on=dt.date(2027, 3, 31),
        target=1,
        result={"stages": []},
        created_at=timezone.now(),
    )
    return [plan.pk]


PAGES = {
    "analytics:dashboard": Page(read=MEMBERS),
    "analytics:drilldown": Page(read=MEMBERS),
    "analytics:review": Page(read=MEMBERS),
    "analytics:plans": Page(read=MEMBERS),
    "analytics:plan_new": Page(read=MEMBERS, write=MEMBERS),
    "analytics:plan_compare": Page(read=MEMBERS),
    "analytics:plan": Page(read=MEMBERS, args=_saved_plan),
}
