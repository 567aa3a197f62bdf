"""What to do next with a person, derived from where they are: the open handoff and its SLA,
the stage (book the discovery call, create the deal, ask for an NPS answer …), the exit
checklist, and whether they have stalled. Short sentences in the reader's language, the
most urgent first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from kyogyo.customers.models import Contact
from kyogyo.deals.models import Deal
from kyogyo.handoffs.queues import QueueItem
from kyogyo.journey.explain import StageWhy
from kyogyo.journey.models import Stage
from kyogyo.journey.playbook import Playbook, text_of
from kyogyo.marketing.models import Activity, ActivityType
from kyogyo.org import access
from kyogyo.org.models import User
from kyogyo.success.models import NpsResponse
from kyogyo.web.templatetags.web import business_hours, local_name

CONVERSATIONS = (ActivityType.CALL, ActivityType.MEETING, ActivityType.DEMO)
NPS_EVERY_DAYS = 180


@dataclass(frozen=True)
class Step:
    text: str
    urgent: bool = False


def next_steps(
    contact: Contact,
    why: StageWhy | None,
    handoff: QueueItem | None,
    playbook: Playbook,
    user: User,
    now: dt.datetime | None = None,
) -> list[Step]:
    now = now or timezone.now()
    if why is None:
        return [Step(_("Record a first touch to start this person's journey."))]
    steps: list[Step] = []
    if handoff is not None:
        steps.append(_handoff_step(handoff, user))
    else:
        steps += _stage_steps(contact, why, now)
        steps += _checklist_steps(playbook, why.stage)
    if why.stalled:
        steps.insert(
            0,
            Step(
                _("Stalled: %(days)s days in this stage (the limit is %(limit)s). Move them on or recycle.")
                % {"days": why.days_in_stage, "limit": why.stage.stall_days},
                urgent=True,
            ),
        )
    return steps


def _handoff_step(item: QueueItem, user: User) -> Step:
    left = business_hours(item.hours_left)
    if access.can_act_on_handoff(user, item.handoff):
        return Step(_("Accept or reject the handoff — %(left)s.") % {"left": left}, urgent=True)
    team = local_name(item.handoff.to_team)
    return Step(
        _("Waiting for %(team)s to accept or reject the handoff — %(left)s.") % {"team": team, "left": left},
        urgent=item.overdue,
    )


def _stage_steps(contact: Contact, why: StageWhy, now: dt.datetime) -> list[Step]:
    stage = why.stage
    key = stage.key
    if stage.category == Stage.Category.EXIT:
        return [Step(_("Nothing to do while they are disqualified; move them to nurture if they come back."))]
    if stage.category == Stage.Category.RECYCLE:
        return [
            Step(
                _(
                    "Nurture with content that fits their interests; classify them as “now” when they re-engage."
                )
            )
        ]
    if stage.is_entry:
        return [Step(_("Check fit and engagement, then classify: now, later or never."))]
    if key == "sal":
        talked = Activity.objects.filter(
            contact=contact, type__in=CONVERSATIONS, occurred_at__gte=why.milestone.current_since
        ).exists()
        if not talked:
            return [Step(_("Book the discovery call."))]
        return [Step(_("Qualify the need, then move them to SQL and create the deal."))]
    if key == "opportunity":
        if not Deal.objects.filter(contact=contact, status=Deal.Status.OPEN).exists():
            return [Step(_("Create the deal for this opportunity."))]
        return [Step(_("Take the open deal to its next pipeline step."))]
    if stage.category in (Stage.Category.CUSTOMER, Stage.Category.OUTCOME):
        if key == "onboarding":
            return [Step(_("Hold the kickoff and reach the first agreed result."))]
        last = NpsResponse.objects.filter(contact=contact).order_by("-answered_at").first()
        if last is None or (now - last.answered_at).days > NPS_EVERY_DAYS:
            return [Step(_("Ask for an NPS answer."))]
    return []


def _checklist_steps(playbook: Playbook, stage: Stage) -> list[Step]:
    if not playbook.checks:
        return []
    following = playbook.first_open_check
    if following is None:
        return [Step(_("The exit checklist is complete: move them on."))]
    return [
        Step(
            _("Exit checklist: %(done)s of %(total)s done. Next: %(check)s")
            % {"done": playbook.checks_done, "total": len(playbook.checks), "check": text_of(following.item)}
        )
    ]
