"""The journey's configuration over the API, read-only: the stages and their allowed exits,
the reason codes, and the stage rules with every version. Rules are published from the
command line (``kyogyo rules test`` / ``kyogyo rules publish``), where a change is previewed
against today's data before it goes live."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from kyogyo.api.auth import user_of
from kyogyo.api.conditional import set_etag
from kyogyo.api.errors import errors, forbidden, not_found
from kyogyo.api.pagination import page_of
from kyogyo.api.params import Key, RecordId, inline_choices
from kyogyo.journey import criteria
from kyogyo.journey.models import ReasonCode, Rule, RuleVersion, Stage
from kyogyo.org import access
from kyogyo.org.models import User

stages = Router(tags=["configuration"])
reasons = Router(tags=["configuration"])
rules = Router(tags=["configuration"])


# --- schemas ------------------------------------------------------------------------------


ReasonKind = Annotated[ReasonCode.Kind, inline_choices(ReasonCode.Kind)]


class StageOut(Schema):
    id: int
    key: str
    name: str
    name_ja: str
    order: int
    category: Stage.Category
    team: str | None = Field(..., description="owning team key")
    hands_to: str | None = Field(..., description="entering this stage hands the person to this team")
    accept_to: str | None = Field(..., description="on accepting the handoff, the person moves here")
    sla_hours: int | None = Field(..., description="business hours the receiving team has")
    stall_days: int | None
    is_entry: bool
    exits: list[str] = Field(..., description="stages a person may move to from here")
    meaning: str
    meaning_ja: str


class ReasonOut(Schema):
    id: int
    kind: ReasonKind
    key: str
    label: str
    label_ja: str
    sends_to: str | None = Field(..., description="stage the person goes to; null: back to the sender")
    active: bool
    order: int


class ReasonFilters(Schema):
    kind: ReasonKind | None = None


class RuleOut(Schema):
    id: int
    key: str
    name: str
    stage: str = Field(..., description="the stage it moves people to")
    priority: int = Field(..., description="lower runs first; the first matching rule wins")
    active: bool
    version: int | None = Field(..., description="the current version's number")
    from_stages: list[str] = Field(..., description="the current version applies to people in these")
    when: str = Field(..., description="the current version's condition in words")


class RuleVersionOut(Schema):
    id: int
    number: int
    current: bool
    from_stages: list[str]
    definition: dict[str, Any] = Field(..., description="the condition (docs/rules.md)")
    when: str
    reason: str | None = Field(..., description="reason code key recorded with its moves")
    note: str
    created_at: dt.datetime
    created_by: str | None


class RuleDetailOut(RuleOut):
    versions: list[RuleVersionOut] = Field(..., description="every version, oldest first")


class RuleFilters(Schema):
    stage: Key | None = Field(None, description="only rules moving people to this stage")
    active: bool | None = None


# --- serialising --------------------------------------------------------------------------


def stage_out(stage: Stage) -> StageOut:
    return StageOut(
        id=stage.pk,
        key=stage.key,
        name=stage.name,
        name_ja=stage.name_ja,
        order=stage.order,
        category=Stage.Category(stage.category),
        team=stage.team.key if stage.team else None,
        hands_to=stage.hands_to.key if stage.hands_to else None,
        accept_to=stage.accept_to.key if stage.accept_to else None,
        sla_hours=stage.sla_hours,
        stall_days=stage.stall_days,
        is_entry=stage.is_entry,
        exits=sorted(e.key for e in stage.exits.all()),
        meaning=stage.meaning,
        meaning_ja=stage.meaning_ja,
    )


def reason_out(reason: ReasonCode) -> ReasonOut:
    return ReasonOut(
        id=reason.pk,
        kind=ReasonCode.Kind(reason.kind),
        key=reason.key,
        label=reason.label,
        label_ja=reason.label_ja,
        sends_to=reason.sends_to.key if reason.sends_to else None,
        active=reason.active,
        order=reason.order,
    )


def _rule_fields(rule: Rule) -> dict[str, Any]:
    current = rule.current_version
    return {
        "id": rule.pk,
        "key": rule.key,
        "name": rule.name,
        "stage": rule.stage.key,
        "priority": rule.priority,
        "active": rule.active,
        "version": current.number if current else None,
        "from_stages": list(current.from_stages) if current else [],
        "when": criteria.describe(current.definition) if current else "",
    }


def rule_out(rule: Rule) -> RuleOut:
    return RuleOut(**_rule_fields(rule))


def version_out(version: RuleVersion, current_id: int | None) -> RuleVersionOut:
    return RuleVersionOut(
        id=version.pk,
        number=version.number,
        current=version.pk == current_id,
        from_stages=list(version.from_stages),
        definition=version.definition,
        when=criteria.describe(version.definition),
        reason=version.reason.key if version.reason else None,
        note=version.note,
        created_at=version.created_at,
        created_by=version.created_by.get_username() if version.created_by else None,
    )


def rule_detail_out(rule: Rule) -> RuleDetailOut:
    versions = [version_out(v, rule.current_version_id) for v in rule.versions.all()]
    return RuleDetailOut(**_rule_fields(rule), versions=versions)


def _whole(items: list[Any]) -> dict[str, Any]:
    # Configuration is a handful of rows in a meaningful order: the whole list, one page.
    return {"items": items, "next_cursor": None}


def _require_member(request: HttpRequest) -> None:
    if not access.can_read_configuration(user_of(request)):
        raise forbidden("only members of a team can read the configuration")


def _rules(user: User) -> QuerySet[Rule]:
    if not access.can_read_configuration(user):
        return Rule.objects.none()
    return Rule.objects.select_related("stage", "current_version").order_by("priority", "key")


# --- operations ---------------------------------------------------------------------------

WHOLE = "the whole list, in order: next_cursor is always null"


@stages.get("", response={200: page_of(StageOut), **errors()}, summary=f"The journey's stages ({WHOLE})")
def list_stages(request: HttpRequest):
    _require_member(request)
    queryset = Stage.objects.select_related("team", "hands_to", "accept_to").prefetch_related(
        Prefetch("exits", queryset=Stage.objects.only("key"))
    )
    return _whole([stage_out(s) for s in queryset.order_by("order", "key")])


@reasons.get("", response={200: page_of(ReasonOut), **errors()}, summary=f"Reason codes ({WHOLE})")
def list_reasons(request: HttpRequest, filters: Query[ReasonFilters]):
    _require_member(request)
    queryset = ReasonCode.objects.select_related("sends_to").order_by("kind", "order", "key")
    if filters.kind is not None:
        queryset = queryset.filter(kind=filters.kind)
    return _whole([reason_out(r) for r in queryset])


@rules.get("", response={200: page_of(RuleOut), **errors()}, summary=f"Stage rules by priority ({WHOLE})")
def list_rules(request: HttpRequest, filters: Query[RuleFilters]):
    _require_member(request)
    queryset = _rules(user_of(request))
    if filters.stage is not None:
        queryset = queryset.filter(stage__key=filters.stage)
    if filters.active is not None:
        queryset = queryset.filter(active=filters.active)
    return _whole([rule_out(r) for r in queryset])


@rules.get(
    "/{int:rule_id}",
    response={200: RuleDetailOut, **errors(404)},
    summary="One stage rule with all its versions",
)
def get_rule(request: HttpRequest, rule_id: RecordId, response: HttpResponse):
    versions = RuleVersion.objects.select_related("reason", "created_by").order_by("number")
    found = (
        _rules(user_of(request))
        .prefetch_related(Prefetch("versions", queryset=versions))
        .filter(pk=rule_id)
        .first()
    )
    if found is None:
        raise not_found("rule")
    shown = rule_detail_out(found)
    set_etag(response, shown)
    return shown
