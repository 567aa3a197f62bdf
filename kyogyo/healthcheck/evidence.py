"""Evidence from the data: for each item of the sheet that Kyogyo's records can speak to, a
function measuring it, with a suggested mark. The person's mark is never replaced: the
evidence is shown beside it, labelled as measured from the data.

Each function takes "now" and returns the figures as a plain dict (stored with the
assessment, so old assessments keep what their author saw): ``n`` of ``d`` (a share where
both are known), ``value`` (the share or a number of days) and ``suggested`` (a mark key,
None when there is nothing to measure yet). The figures read the live records with the
definitions of the analytics metrics, docs/analytics.md (an SLA is met when the handoff was acted on by its due
time), so a health check does not wait for a snapshot refresh."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db.models import Exists, F, OuterRef, Q
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from kyogyo.analytics.models import SavedPlan, Target
from kyogyo.customers.models import Account, Contact
from kyogyo.handoffs.models import Handoff
from kyogyo.journey.models import Rule, Stage, Transition
from kyogyo.marketing.models import Activity
from kyogyo.org.models import Team
from kyogyo.scoring.models import EngagementWeight, FitRule
from kyogyo.success.models import NpsResponse, Subscription

FOUR_TEAMS = (Team.MARKETING, Team.INSIDE_SALES, Team.FIELD_SALES, Team.CUSTOMER_SUCCESS)
WINDOW = dt.timedelta(days=90)
ACTIVE_WINDOW = dt.timedelta(days=30)
NPS_WINDOW = dt.timedelta(days=180)
FUNNEL = (Stage.Category.PROSPECT, Stage.Category.CUSTOMER)

Figures = dict[str, Any]
EVIDENCE: dict[str, Callable[[dt.datetime], Figures]] = {}

# What each figure says, in the reader's language (n, d, value and percent filled in).
DESCRIPTIONS = {
    "teams_staffed": _("%(n)s of the %(d)s teams have active members."),
    "stage_owners": _("%(n)s of %(d)s prospect and customer stages have an owning team."),
    "handoff_sla": _(
        "%(n)s of %(d)s handoffs due in the last 90 days were acted on within the SLA (%(percent)s)."
    ),
    "team_targets": _("%(n)s of the %(d)s teams have a target for the current period."),
    "linked_targets": _("%(n)s of %(d)s handoff stages have a current target for the people entering them."),
    "snapshot_fresh": _("The analytics snapshot the reports read was refreshed %(value)s days ago."),
    "activities_recorded": _(
        "%(n)s of %(d)s people on the journey have at least one recorded activity (%(percent)s)."
    ),
    "boundaries_crossed": _(
        "%(n)s of %(d)s handoff stages were crossed by at least one handoff in the last 90 days."
    ),
    "stage_rules": _("%(n)s of %(d)s prospect stages after the first are entered by an active stage rule."),
    "stage_meanings": _("%(n)s of %(d)s stages have a written definition."),
    "stall_limits": _("%(n)s of %(d)s prospect stages flag the people who stall in them."),
    "teams_active": _("%(n)s of the %(d)s teams recorded work in Kyogyo in the last 30 days."),
    "reject_reasons": _("%(n)s of %(d)s handoffs rejected in the last 90 days give a reason (%(percent)s)."),
    "scoring_configured": _(
        "%(n)s of %(d)s parts of lead scoring are set up (fit rules, engagement weights)."
    ),
    "nps_collected": _(
        "%(n)s of %(d)s customer companies answered an NPS survey in the last 180 days (%(percent)s)."
    ),
    "saved_plans": _("%(n)s plans were saved in the last 90 days (%(d)s in all)."),
}
NO_SNAPSHOT = _("The analytics snapshot has not been built yet, so the reports show nothing.")
NOTHING_YET = _("Nothing to measure yet.")


def evidence(function: Callable[[dt.datetime], Figures]) -> Callable[[dt.datetime], Figures]:
    EVIDENCE[function.__name__] = function
    return function


def share(n: int, d: int, *, good: float = 0.9, partial: float = 0.5) -> Figures:
    """n of d with the mark it suggests: ○ from ``good``, △ from ``partial``, × below."""
    if d == 0:
        return {"n": n, "d": d, "value": None, "suggested": None}
    value = n / d
    if value >= good:
        suggested = "done"
    elif value >= partial and n > 0:
        suggested = "partly"
    else:
        suggested = "not_yet"
    return {"n": n, "d": d, "value": round(value, 4), "suggested": suggested}


def _four_teams() -> Any:
    return Team.objects.filter(key__in=FOUR_TEAMS)


@evidence
def teams_staffed(now: dt.datetime) -> Figures:
    staffed = _four_teams().filter(members__is_active=True).distinct().count()
    return share(staffed, len(FOUR_TEAMS))


@evidence
def stage_owners(now: dt.datetime) -> Figures:
    stages = Stage.objects.filter(category__in=FUNNEL)
    return share(stages.filter(team__isnull=False).count(), stages.count())


@evidence
def handoff_sla(now: dt.datetime) -> Figures:
    """Handoffs due in the window (acted on, or open past due): met = acted on by the due time."""
    due = Handoff.objects.filter(due_at__gt=now - WINDOW, due_at__lte=now)
    met = due.filter(acted_at__isnull=False, acted_at__lte=F("due_at"))
    return share(met.count(), due.count())


def _current_targets(now: dt.datetime) -> Any:
    today = timezone.localdate(now)
    return Target.objects.filter(starts_on__lte=today, ends_on__gte=today)


@evidence
def team_targets(now: dt.datetime) -> Figures:
    with_target = _current_targets(now).filter(team__key__in=FOUR_TEAMS).values("team").distinct().count()
    return share(with_target, len(FOUR_TEAMS))


@evidence
def linked_targets(now: dt.datetime) -> Figures:
    """A target on entering a handoff stage is the sending team's goal and the receiving
    team's base (the article's 前部門のゴールが次部門の母数)."""
    handoff_stages = list(Stage.objects.filter(hands_to__isnull=False).values_list("key", flat=True))
    metrics = set(_current_targets(now).values_list("metric", flat=True))
    linked = sum(1 for key in handoff_stages if f"entered:{key}" in metrics)
    return share(linked, len(handoff_stages))


@evidence
def snapshot_fresh(now: dt.datetime) -> Figures:
    """Reports are only as current as the snapshot: within a day ○, a week △."""
    from kyogyo.analytics.snapshot.store import SnapshotError, parse_time, read_manifest

    try:
        manifest = read_manifest()
    except SnapshotError:
        manifest = None
    if manifest is None:
        return {"n": None, "d": None, "value": None, "suggested": "not_yet", "missing": True}
    days = max((now - parse_time(manifest.refreshed_at)).total_seconds(), 0) / 86400
    suggested = "done" if days <= 1 else "partly" if days <= 7 else "not_yet"
    return {"n": None, "d": None, "value": round(days, 1), "suggested": suggested}


@evidence
def activities_recorded(now: dt.datetime) -> Figures:
    on_journey = Contact.objects.filter(milestone__isnull=False)
    touched = on_journey.filter(Exists(Activity.objects.filter(contact=OuterRef("pk"))))
    return share(touched.count(), on_journey.count())


@evidence
def boundaries_crossed(now: dt.datetime) -> Figures:
    handoff_stages = Stage.objects.filter(hands_to__isnull=False)
    crossed = handoff_stages.filter(
        Exists(Handoff.objects.filter(stage=OuterRef("pk"), created_at__gt=now - WINDOW, created_at__lte=now))
    )
    return share(crossed.count(), handoff_stages.count())


@evidence
def stage_rules(now: dt.datetime) -> Figures:
    """Stages people reach by what they do (a rule), not by someone's say-so; the entry
    stages are where a journey starts, so no rule leads into them."""
    stages = Stage.objects.filter(category=Stage.Category.PROSPECT, is_entry=False)
    ruled = stages.filter(Exists(Rule.objects.filter(stage=OuterRef("pk"), active=True)))
    return share(ruled.count(), stages.count())


@evidence
def stage_meanings(now: dt.datetime) -> Figures:
    stages = Stage.objects.all()
    defined = stages.exclude(meaning="", meaning_ja="")
    return share(defined.count(), stages.count())


@evidence
def stall_limits(now: dt.datetime) -> Figures:
    stages = Stage.objects.filter(category=Stage.Category.PROSPECT)
    return share(stages.filter(stall_days__isnull=False).count(), stages.count())


@evidence
def teams_active(now: dt.datetime) -> Figures:
    """A team uses the tool when its members move people, act on handoffs or log touches."""
    since = now - ACTIVE_WINDOW

    worked = (
        Q(Exists(Transition.objects.filter(actor__team=OuterRef("pk"), at__gt=since, at__lte=now)))
        | Q(
            Exists(
                Handoff.objects.filter(acted_by__team=OuterRef("pk"), acted_at__gt=since, acted_at__lte=now)
            )
        )
        | Q(
            Exists(
                Activity.objects.filter(
                    actor__team=OuterRef("pk"), occurred_at__gt=since, occurred_at__lte=now
                )
            )
        )
    )
    return share(_four_teams().filter(worked).count(), len(FOUR_TEAMS))


@evidence
def reject_reasons(now: dt.datetime) -> Figures:
    """A reject with a reason is feedback the sending team can act on."""
    rejected = Handoff.objects.filter(
        status=Handoff.Status.REJECTED, acted_at__gt=now - WINDOW, acted_at__lte=now
    )
    return share(rejected.filter(reason__isnull=False).count(), rejected.count())


@evidence
def scoring_configured(now: dt.datetime) -> Figures:
    parts = [
        FitRule.objects.filter(active=True).exists(),
        EngagementWeight.objects.exclude(points=0).exists(),
    ]
    return share(sum(parts), len(parts))


@evidence
def nps_collected(now: dt.datetime) -> Figures:
    """Customers (companies with an active subscription) heard from in the last 180 days;
    half of them is ○ — a survey rarely reaches everyone."""
    customers = Account.objects.filter(
        Exists(Subscription.objects.filter(account=OuterRef("pk"), status=Subscription.Status.ACTIVE))
    )
    answers = NpsResponse.objects.filter(answered_at__gt=now - NPS_WINDOW, answered_at__lte=now)
    heard = customers.filter(
        Exists(answers.filter(Q(account=OuterRef("pk")) | Q(contact__account=OuterRef("pk"))))
    )
    return share(heard.count(), customers.count(), good=0.5, partial=0.01)


@evidence
def saved_plans(now: dt.datetime) -> Figures:
    """Plans saved to compare with what happened: lately ○, only long ago △, never ×."""
    plans = SavedPlan.objects.filter(created_at__lte=now)
    recent = plans.filter(created_at__gt=now - WINDOW).count()
    total = plans.count()
    suggested = "done" if recent else "partly" if total else "not_yet"
    return {"n": recent, "d": total, "value": None, "suggested": suggested}


def measure(kind: str, now: dt.datetime | None = None) -> Figures:
    return {"kind": kind, **EVIDENCE[kind](now or timezone.now())}


def measure_all(now: dt.datetime | None = None) -> dict[str, Figures]:
    """Every measurable item of the sheet: item key → figures."""
    from kyogyo.healthcheck.sheet import load

    now = now or timezone.now()
    return {item.key: measure(item.evidence, now) for item in load().items if item.evidence}


def describe(figures: Figures) -> str:
    """The figures as a sentence in the reader's language."""
    kind = figures.get("kind", "")
    if figures.get("missing"):
        return str(NO_SNAPSHOT)
    if kind not in DESCRIPTIONS:
        return ""
    if figures.get("d") == 0:
        return f"{DESCRIPTIONS[kind] % _params(figures)} {NOTHING_YET}"
    return str(DESCRIPTIONS[kind] % _params(figures))


def _params(figures: Figures) -> dict[str, str]:
    value = figures.get("value")
    percent = "–" if value is None else formats.number_format(value * 100, 0, use_l10n=True) + "%"
    return {
        "n": _number(figures.get("n")),
        "d": _number(figures.get("d")),
        "value": _number(value, 1),
        "percent": percent,
    }


def _number(value: Any, digits: int = 0) -> str:
    if value is None:
        return "–"
    return formats.number_format(value, digits, use_l10n=True, force_grouping=True)
