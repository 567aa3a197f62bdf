"""What a person's home shows: their queue of handoffs, their records and what they did
lately. Each piece is a bounded query (a page's worth), whatever the size of the company."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kyogyo.customers import notes
from kyogyo.customers.models import Contact
from kyogyo.handoffs.queues import queue_for, with_countdown
from kyogyo.journey.models import ReasonCode, Transition
from kyogyo.org.models import User

QUEUE_SIZE = 25
RECENT_SIZE = 10


def reject_reasons() -> list[ReasonCode]:
    return list(ReasonCode.objects.filter(kind=ReasonCode.Kind.REJECT, active=True).order_by("label"))


def home_for(user: User) -> dict[str, Any]:
    queue = queue_for(user)
    items = with_countdown(list(queue[: QUEUE_SIZE + 1]))
    return {
        "queue": items[:QUEUE_SIZE],
        "queue_more": len(items) > QUEUE_SIZE,
        "reject_reasons": reject_reasons(),
        "my_people": list(
            Contact.objects.filter(owner=user)
            .select_related("account", "milestone__current_stage")
            .order_by("-last_activity_at", "-id")[:RECENT_SIZE]
        ),
        "my_moves": list(
            Transition.objects.filter(actor=user)
            .select_related("subject", "from_stage", "to_stage")
            .order_by("-at", "-id")[:RECENT_SIZE]
        ),
        "mentions": notes.mentions_for(user, RECENT_SIZE),
        **new_customers_for(user),
    }


def new_customers_for(user: User) -> dict[str, Any]:
    """Customer Success's workspace also lists the new customers still without a
    subscription (the first few; the overview of /success/ has them all)."""
    from kyogyo.org.models import Team
    from kyogyo.success import onboarding

    if user.team is None or user.team.key != Team.CUSTOMER_SUCCESS:
        return {"new_customers": None}
    found, more = onboarding.preview()
    return {"new_customers": [{"customer": c, "form": None} for c in found], "new_customers_more": more}


@dataclass(frozen=True)
class Section:
    url_name: str
    label: str | Promise
    description: str | Promise


SECTIONS = (
    Section("settings:users", _("Teams and users"), _("Who works in which team, with which role.")),
    Section(
        "settings:restricted_fields",
        _("Restricted fields"),
        _("Values only managers or admins may see: opted-out people's personal data, fields you mark."),
    ),
    Section(
        "settings:stages", _("Stages and rules"), _("The journey's stages and the rules that move people.")
    ),
    Section(
        "settings:sla",
        _("SLAs and business calendar"),
        _("How long each handoff may wait, in working hours."),
    ),
    Section("settings:reasons", _("Reason codes"), _("Why handoffs are rejected and deals are lost.")),
    Section("settings:scoring", _("Scoring"), _("Fit rules and engagement weights.")),
    Section("settings:targets", _("Targets and fiscal year"), _("Targets per KPI and period.")),
    Section("settings:tokens", _("API tokens"), _("Personal tokens for the REST API.")),
    Section("settings:webhooks", _("Webhooks"), _("Journey events sent to other tools.")),
    Section("imports:list", _("Imports"), _("Load records from CSV or Excel files.")),
)


@dataclass(frozen=True)
class SectionLink:
    url: str
    label: str | Promise
    description: str | Promise


def settings_sections() -> list[SectionLink]:
    links = []
    for section in SECTIONS:
        try:
            links.append(SectionLink(reverse(section.url_name), section.label, section.description))
        except NoReverseMatch:
            continue
    return links
