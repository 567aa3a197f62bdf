"""Deals over the API, through the same actions as the app: a deal is opened by qualifying a
person (SQL, handed to Field Sales), edited with optimistic locking (``If-Match`` or the
deal's ``version``), moved along the pipeline, won (handed to Customer Success) or lost
with a reason that decides where the person goes next."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Body, Field, Query, Router, Schema, Status
from pydantic import StringConstraints, field_validator

from kyogyo.api.auth import user_of
from kyogyo.api.conditional import check_if_match, etag_of, set_etag
from kyogyo.api.errors import ApiError, errors, forbidden, not_found
from kyogyo.api.pagination import PageParams, page_of, paginate
from kyogyo.api.params import (
    MAX_ID,
    Day,
    Input,
    Key,
    RecordId,
    RequiredText200,
    Text2000,
    Whole,
    inline_choices,
    omissible,
)
from kyogyo.customers.api import readable_contacts
from kyogyo.deals import actions
from kyogyo.deals.actions import DealConflict
from kyogyo.deals.models import Deal, PipelineStage
from kyogyo.journey.models import ReasonCode
from kyogyo.marketing.models import Campaign
from kyogyo.org import access, restricted
from kyogyo.org.models import User

deals = Router(tags=["deals"])
pipeline_stages = Router(tags=["deals"])

MAX_AMOUNT = 2**63 - 1
MAX_VERSION = 2_147_483_647

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
VersionField = Field(
    None, ge=1, le=MAX_VERSION, description="the version you read: 412 when the deal changed since"
)


# --- schemas ------------------------------------------------------------------------------


DealStatus = Annotated[Deal.Status, inline_choices(Deal.Status)]


class DealOut(Schema):
    id: int
    name: str
    account_id: int
    contact_id: int | None
    amount: int | None = Field(..., description="in minor units of the currency")
    currency: str
    pipeline_stage: str = Field(..., description="pipeline stage key")
    status: DealStatus
    probability: int | None = Field(..., description="set on the deal; null: the pipeline stage's")
    effective_probability: int | None
    weighted_amount: float | None
    expected_close: Day | None
    owner_id: int | None
    owner: str | None = Field(..., description="username of the owner")
    loss_reason: str | None = Field(..., description="loss reason key, once lost")
    campaign_id: int | None
    created_at: dt.datetime
    closed_at: dt.datetime | None
    external_id: str | None
    version: int
    restricted: list[str] = Field(
        default_factory=list,
        description="fields withheld from you (restricted, docs/privacy.md): their value is null",
    )


class DealIn(Input):
    contact_id: Whole = Field(..., ge=1, le=MAX_ID, description="the person Inside Sales qualifies (in SAL)")
    name: RequiredText200
    amount: Whole = Field(..., ge=0, le=MAX_AMOUNT, description="in minor units (JPY: yen)")
    currency: Currency = "JPY"
    expected_close: Day | None = None
    campaign_id: Whole | None = Field(None, ge=1, le=MAX_ID)
    note: Text2000 = ""


class DealPatch(Input):
    name: RequiredText200 = omissible()
    amount: Whole = omissible(ge=0, le=MAX_AMOUNT)
    currency: Currency = omissible()
    probability: Whole | None = Field(None, ge=0, le=100, description="null: the pipeline stage's default")
    expected_close: Day | None = None
    owner_id: Whole | None = Field(None, ge=1, le=MAX_ID, description="null: nobody")
    campaign_id: Whole | None = Field(None, ge=1, le=MAX_ID)
    version: Whole | None = VersionField

    @field_validator("name", "amount", "currency")
    @classmethod
    def not_null(cls, value: Any) -> Any:
        # Omit a field to keep it; these cannot be emptied.
        if value is None:
            raise ValueError("may be omitted but not null")
        return value


class DealFilters(Schema):
    status: DealStatus | None = None
    pipeline_stage: Key | None = Field(None, description="pipeline stage key")
    owner_id: int | None = Field(None, ge=1, le=MAX_ID)
    account_id: int | None = Field(None, ge=1, le=MAX_ID)
    contact_id: int | None = Field(None, ge=1, le=MAX_ID)


class MoveIn(Input):
    stage: Key = Field(..., description="key of an open pipeline stage")
    version: Whole | None = VersionField


class WinIn(Input):
    version: Whole | None = VersionField


NO_BODY = WinIn()  # the body may be left out


class LoseIn(Input):
    reason: Key = Field(..., description="loss reason key (GET /api/reasons?kind=loss)")
    note: Text2000 = ""
    version: Whole | None = VersionField


class PipelineStageOut(Schema):
    id: int
    key: str
    name: str
    name_ja: str
    order: int
    probability: int = Field(..., description="default probability %")
    is_won: bool
    is_lost: bool


# --- serialising --------------------------------------------------------------------------


def deal_out(deal: Deal, user: User) -> DealOut:
    """The deal as ``user`` may see it: restricted values null, and named under ``restricted``."""
    values, hidden = restricted.policy(user).mask_values(deal, _deal_values(deal))
    return DealOut(**values, restricted=hidden)


def _deal_values(deal: Deal) -> dict[str, Any]:
    return dict(
        id=deal.pk,
        name=deal.name,
        account_id=deal.account_id,
        contact_id=deal.contact_id,
        amount=deal.amount,
        currency=deal.currency,
        pipeline_stage=deal.pipeline_stage.key,
        status=Deal.Status(deal.status),
        probability=deal.probability,
        effective_probability=deal.effective_probability,
        weighted_amount=deal.weighted_amount,
        expected_close=deal.expected_close,
        owner_id=deal.owner_id,
        owner=deal.owner.get_username() if deal.owner else None,
        loss_reason=deal.loss_reason.key if deal.loss_reason else None,
        campaign_id=deal.campaign_id,
        created_at=deal.created_at,
        closed_at=deal.closed_at,
        external_id=deal.external_id,
        version=deal.version,
    )


def pipeline_stage_out(stage: PipelineStage) -> PipelineStageOut:
    return PipelineStageOut.model_validate(stage, from_attributes=True)


# --- lookups with access ------------------------------------------------------------------


def readable_deals(user: User) -> QuerySet[Deal]:
    if not access.can_read_records(user):
        return Deal.objects.none()
    return Deal.objects.select_related("pipeline_stage", "owner", "loss_reason")


def get_deal(user: User, pk: int, *, lock: bool = False) -> Deal:
    if lock:
        # The deal's row alone (as the actions lock it): a join would lock the stage too.
        Deal.objects.select_for_update().filter(pk=pk).values_list("pk", flat=True).first()
    # The contact's stage decides who may edit a deal without an owner.
    found = readable_deals(user).select_related("contact__milestone__current_stage").filter(pk=pk).first()
    if found is None:
        raise not_found("deal")
    return found


def _deal_to_change(request: HttpRequest, deal_id: int) -> Deal:
    """The deal locked for a change by the caller: 404, 403 or 412 otherwise."""
    user = user_of(request)
    deal = get_deal(user, deal_id, lock=True)
    if not access.can_edit_deal(user, deal):
        raise forbidden("only the deal's owner, the owner's team or a manager may change this deal")
    check_if_match(request, deal_out(deal, user))
    return deal


def _stale(exc: DealConflict, user: User) -> ApiError:
    current = Deal.objects.select_related("pipeline_stage", "owner", "loss_reason").get(pk=exc.current.pk)
    return ApiError(412, "precondition_failed", str(exc), headers={"ETag": etag_of(deal_out(current, user))})


def _missing(what: str, field: str, message: str) -> ApiError:
    return ApiError(
        404,
        "not_found",
        message,
        details=[{"field": field, "code": "not_found", "message": f"no such {what}"}],
    )


def _campaign(pk: int | None) -> Campaign | None:
    if pk is None:
        return None
    found = Campaign.objects.filter(pk=pk).first()
    if found is None:
        raise _missing("campaign", "campaign_id", f"no campaign {pk}")
    return found


def _owner(pk: int | None) -> User | None:
    if pk is None:
        return None
    found = User.objects.filter(pk=pk, is_active=True).first()
    if found is None:
        raise _missing("user", "owner_id", f"no active user {pk}")
    return found


def _pipeline_stage(key: str) -> PipelineStage:
    found = PipelineStage.objects.filter(key=key).first()
    if found is None:
        known = ", ".join(PipelineStage.objects.values_list("key", flat=True))
        raise _missing("pipeline stage", "stage", f"no pipeline stage {key!r}; stages: {known}")
    return found


def _loss_reason(key: str) -> ReasonCode:
    found = ReasonCode.objects.filter(kind=ReasonCode.Kind.LOSS, key=key, active=True).first()
    if found is None:
        known = ReasonCode.objects.filter(kind=ReasonCode.Kind.LOSS, active=True).values_list(
            "key", flat=True
        )
        raise _missing("loss reason", "reason", f"no loss reason {key!r}; loss reasons: {', '.join(known)}")
    return found


def _shown(request: HttpRequest, deal: Deal, response: HttpResponse) -> DealOut:
    shown = deal_out(readable_deals(user_of(request)).get(pk=deal.pk), user_of(request))
    set_etag(response, shown)
    return shown


# --- deals --------------------------------------------------------------------------------


@deals.get("", response={200: page_of(DealOut), **errors()}, summary="List deals")
def list_deals(request: HttpRequest, filters: Query[DealFilters], page: Query[PageParams]):
    user = user_of(request)
    if not access.can_read_records(user):
        raise forbidden("only members of a team can read deals")
    queryset = readable_deals(user)
    if filters.status is not None:
        queryset = queryset.filter(status=filters.status)
    if filters.pipeline_stage is not None:
        queryset = queryset.filter(pipeline_stage__key=filters.pipeline_stage)
    for field in ("owner_id", "account_id", "contact_id"):
        if getattr(filters, field) is not None:
            queryset = queryset.filter(**{field: getattr(filters, field)})
    return paginate(queryset, page, lambda deal: deal_out(deal, user))


@deals.post(
    "",
    response={201: DealOut, 200: DealOut, **errors(404, 409)},
    summary="Qualify a person: SQL, a deal, a handoff to Field Sales (201; 200 when their open deal "
    "was updated instead)",
)
def create_deal(request: HttpRequest, payload: DealIn, response: HttpResponse):
    user = user_of(request)
    if not access.can_read_records(user):
        raise forbidden("only members of a team can qualify people")
    contact = readable_contacts(user).filter(pk=payload.contact_id).first()
    if contact is None:
        raise _missing("contact", "contact_id", f"no contact {payload.contact_id}")
    campaign = _campaign(payload.campaign_id)
    if not access.can_create_deal(user, contact):
        raise forbidden(
            "only the team that owns this person's stage, their owner or a manager may qualify them"
        )
    deal = actions.qualify(
        contact,
        actor=user,
        name=payload.name,
        amount=payload.amount,
        currency=payload.currency,
        expected_close=payload.expected_close,
        campaign_id=campaign.pk if campaign else None,
        note=payload.note,
    )
    shown = _shown(request, deal, response)
    response["Location"] = f"/api/deals/{deal.pk}"
    # A new deal starts at version 1; qualifying again updates the open deal (version > 1).
    return Status(201 if deal.version == 1 else 200, shown)


@deals.get("/{int:deal_id}", response={200: DealOut, **errors(404)}, summary="One deal")
def get_deal_view(request: HttpRequest, deal_id: RecordId, response: HttpResponse):
    shown = deal_out(get_deal(user_of(request), deal_id), user_of(request))
    set_etag(response, shown)
    return shown


@deals.patch("/{int:deal_id}", response={200: DealOut, **errors(404, 409, 412)}, summary="Change a deal")
def update_deal(request: HttpRequest, deal_id: RecordId, payload: DealPatch, response: HttpResponse):
    values = payload.model_dump(exclude_unset=True, exclude={"version"})
    if "owner_id" in values:
        values["owner"] = _owner(values.pop("owner_id"))
    if "campaign_id" in values:
        values["campaign"] = _campaign(values.pop("campaign_id"))
    with transaction.atomic():
        deal = _deal_to_change(request, deal_id)
        try:
            if values:
                deal = actions.update_deal(deal, expected_version=payload.version, **values)
            elif payload.version not in (None, deal.version):
                raise DealConflict(deal)
        except DealConflict as exc:
            raise _stale(exc, user_of(request)) from exc
    # Nothing to change changes nothing: the version (and the ETag) stay.
    return _shown(request, deal, response)


@deals.post(
    "/{int:deal_id}/move",
    response={200: DealOut, **errors(404, 409, 412)},
    summary="Move an open deal to another open pipeline stage",
)
def move_deal(request: HttpRequest, deal_id: RecordId, payload: MoveIn, response: HttpResponse):
    stage = _pipeline_stage(payload.stage)
    with transaction.atomic():
        deal = _deal_to_change(request, deal_id)
        try:
            deal = actions.move_deal(deal, stage, actor=user_of(request), expected_version=payload.version)
        except DealConflict as exc:
            raise _stale(exc, user_of(request)) from exc
    return _shown(request, deal, response)


@deals.post(
    "/{int:deal_id}/win",
    response={200: DealOut, **errors(404, 409, 412)},
    summary="Win a deal: the customer is handed to Customer Success",
)
def win_deal(request: HttpRequest, deal_id: RecordId, response: HttpResponse, payload: Body[WinIn] = NO_BODY):
    with transaction.atomic():
        deal = _deal_to_change(request, deal_id)
        try:
            deal = actions.win_deal(deal, actor=user_of(request), expected_version=payload.version)
        except DealConflict as exc:
            raise _stale(exc, user_of(request)) from exc
    return _shown(request, deal, response)


@deals.post(
    "/{int:deal_id}/lose",
    response={200: DealOut, **errors(404, 409, 412)},
    summary="Lose a deal with a reason; the person goes where the reason says",
)
def lose_deal(request: HttpRequest, deal_id: RecordId, payload: LoseIn, response: HttpResponse):
    reason = _loss_reason(payload.reason)
    with transaction.atomic():
        deal = _deal_to_change(request, deal_id)
        try:
            deal = actions.lose_deal(
                deal,
                actor=user_of(request),
                reason=reason,
                note=payload.note,
                expected_version=payload.version,
            )
        except DealConflict as exc:
            raise _stale(exc, user_of(request)) from exc
    return _shown(request, deal, response)


# --- pipeline stages ----------------------------------------------------------------------


@pipeline_stages.get(
    "",
    response={200: page_of(PipelineStageOut), **errors()},
    summary="The pipeline stages, in order (the whole list: next_cursor is always null)",
)
def list_pipeline_stages(request: HttpRequest):
    if not access.can_read_configuration(user_of(request)):
        raise forbidden("only members of a team can read the configuration")
    return {
        "items": [pipeline_stage_out(s) for s in PipelineStage.objects.order_by("order", "key")],
        "next_cursor": None,
    }
