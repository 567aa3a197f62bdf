"""Which records keep a history, and which of their columns it leaves out.

Left out: values derived from other records (scores, last-activity times — recomputed, their
sources have histories of their own), bookkeeping (a token's last use), and secrets and
password hashes (a change is recorded, the value never). Logs that are append-only already —
activities, stage transitions, milestones' source, consent records, rule versions, webhook
deliveries — are their own history and are not copied here."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import models


@dataclass(frozen=True)
class Tracked:
    label: str  # app_label.model_name
    skip: frozenset[str] = frozenset()  # field names left out
    masked: frozenset[str] = frozenset()  # changes recorded, values hidden

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.label)


HIDDEN = "••••"

TRACKED = (
    Tracked("customers.account"),
    Tracked("customers.note"),
    Tracked(
        "customers.contact",
        skip=frozenset({"fit_score", "engagement_score", "engagement_at", "last_activity_at"}),
    ),
    Tracked("deals.deal"),
    Tracked("deals.pipelinestage"),
    Tracked("success.subscription"),
    Tracked("success.expansionhandback"),
    Tracked("handoffs.handoff"),
    Tracked("handoffs.businesscalendar"),
    Tracked("handoffs.calendarexception"),
    Tracked("handoffs.routingrule"),
    Tracked("journey.stage"),
    Tracked("journey.rule"),
    Tracked("journey.reasoncode"),
    Tracked("journey.valuelist"),
    Tracked("journey.playbookitem"),
    Tracked("journey.checklisttick"),
    Tracked("marketing.campaign"),
    Tracked("org.team"),
    Tracked("org.restrictedfield"),
    Tracked("org.user", skip=frozenset({"last_login"}), masked=frozenset({"password"})),
    Tracked("scoring.scoringsettings"),
    Tracked("scoring.fitrule"),
    Tracked("scoring.engagementweight"),
    Tracked("analytics.analyticssettings"),
    Tracked("analytics.target"),
    Tracked("analytics.savedplan"),
    Tracked("api.apitoken", skip=frozenset({"last_used_at"}), masked=frozenset({"secret_hash"})),
    Tracked("webhooks.endpoint", masked=frozenset({"secret"})),
    Tracked("intake.form"),
    Tracked("healthcheck.assessment"),
    Tracked("healthcheck.mark"),
    Tracked("intake.inboundsource", masked=frozenset({"secret", "previous_secret"})),
)


def tracked() -> list[Tracked]:
    """The entries whose model is installed (an app may be left out of a deployment)."""
    installed = []
    for entry in TRACKED:
        app_label, model_name = entry.label.split(".")
        try:
            apps.get_model(app_label, model_name)
        except LookupError:
            continue
        installed.append(entry)
    return installed


def columns(entry: Tracked) -> list[tuple[str, str, bool]]:
    """(field name, column, masked) of the recorded columns, in field order."""
    found = []
    for field in entry.model._meta.concrete_fields:
        if field.primary_key or field.name in entry.skip:
            continue
        found.append((field.name, field.column or field.name, field.name in entry.masked))
    return found


def entry_for(label: str) -> Tracked | None:
    return next((entry for entry in TRACKED if entry.label == label), None)
