"""Campaigns and activities over the API. Activities go through ``record_activities`` — one at
a time or thousands per request through ``/activities/bulk`` — so scores and stage rules run
exactly as for any other touch."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status
from pydantic import field_validator

from kyogyo.api.auth import user_of
from kyogyo.api.conditional import check_if_match, set_etag
from kyogyo.api.errors import ApiError, errors, forbidden, not_found
from kyogyo.api.pagination import PageParams, page_of, paginate
from kyogyo.api.params import (
    MAX_ID,
    BodyId,
    Day,
    Input,
    Moment,
    RecordId,
    RequiredText100,
    RequiredText200,
    Text60,
    omissible,
)
from kyogyo.marketing import actions
from kyogyo.marketing.models import Activity, ActivityType, Campaign
from kyogyo.org import access

campaigns = Router(tags=["campaigns"])
activities = Router(tags=["activities"])

MAX_BULK = 5000


class CampaignOut(Schema):
    id: int
    name: str
    channel: str
    starts_on: dt.date | None
    ends_on: dt.date | None
    external_id: str | None


class CampaignPatch(Input):
    name: RequiredText200 = omissible()
    channel: Text60 = omissible()
    starts_on: Day | None = None
    ends_on: Day | None = None
    external_id: RequiredText100 | None = None


class CampaignIn(CampaignPatch):
    name: RequiredText200


class ActivityOut(Schema):
    id: int
    contact_id: int
    type: ActivityType
    occurred_at: dt.datetime
    source: str
    campaign_id: int | None
    actor_id: int | None
    payload: dict[str, Any]
    external_id: str | None


class ActivityIn(Input):
    contact_id: BodyId
    type: ActivityType
    occurred_at: Moment = Field(..., description="with a time zone; not in the future")
    source: Text60 = ""
    campaign_id: BodyId | None = None
    payload: dict[str, Any] = Field(
        default_factory=dict, description=f"plain JSON, at most {actions.MAX_PAYLOAD_BYTES} bytes"
    )
    external_id: RequiredText100 | None = omissible(description="recorded once: a repeat is a duplicate")

    @field_validator("payload")
    @classmethod
    def payload_is_storable(cls, value: dict[str, Any]) -> dict[str, Any]:
        # PostgreSQL's JSON cannot hold a NUL character; refuse it here rather than at commit.
        if "\\u0000" in json.dumps(value):
            raise ValueError("payload must not contain NUL characters")
        return value


class BulkIn(Input):
    items: list[ActivityIn] = Field(..., min_length=1, max_length=MAX_BULK)


class ItemErrorOut(Schema):
    index: int
    field: str
    code: str
    message: str


class BulkOut(Schema):
    received: int
    created: int
    duplicates: int
    errors: list[ItemErrorOut]
    stage_changes: int = Field(..., description="stage changes the rules made because of these activities")


class ActivityFilters(Schema):
    contact_id: int | None = Field(None, ge=1, le=MAX_ID)
    type: ActivityType | None = None
    campaign_id: int | None = Field(None, ge=1, le=MAX_ID)
    since: Moment | None = omissible(description="occurred at or after")
    until: Moment | None = omissible(description="occurred before")


def campaign_out(campaign: Campaign) -> CampaignOut:
    return CampaignOut.model_validate(campaign, from_attributes=True)


def activity_out(activity: Activity) -> ActivityOut:
    return ActivityOut.model_validate(activity, from_attributes=True)


def _require_member(request: HttpRequest) -> Any:
    user = user_of(request)
    if not access.can_read_records(user):
        raise forbidden("only members of a team can use the customer record")
    return user


def _get_campaign(request: HttpRequest, pk: int, *, lock: bool = False) -> Campaign:
    if not access.can_read_records(user_of(request)):
        raise not_found("campaign")  # like an unknown id
    queryset = Campaign.objects.select_for_update() if lock else Campaign.objects.all()
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise not_found("campaign")
    return found


# --- campaigns ----------------------------------------------------------------------------


@campaigns.get("", response={200: page_of(CampaignOut), **errors()}, summary="List campaigns")
def list_campaigns(request: HttpRequest, page: Query[PageParams]):
    _require_member(request)
    return paginate(Campaign.objects.all(), page, campaign_out)


@campaigns.post("", response={201: CampaignOut, **errors(409)}, summary="Create a campaign")
def create_campaign(request: HttpRequest, payload: CampaignIn, response: HttpResponse):
    _require_member(request)
    campaign = actions.create_campaign(**payload.model_dump(exclude_unset=True))
    shown = campaign_out(campaign)
    set_etag(response, shown)
    response["Location"] = f"/api/campaigns/{campaign.pk}"
    return Status(201, shown)


@campaigns.get("/{int:campaign_id}", response={200: CampaignOut, **errors(404)}, summary="One campaign")
def get_campaign(request: HttpRequest, campaign_id: RecordId, response: HttpResponse):
    shown = campaign_out(_get_campaign(request, campaign_id))
    set_etag(response, shown)
    return shown


@campaigns.patch(
    "/{int:campaign_id}", response={200: CampaignOut, **errors(404, 409, 412)}, summary="Change a campaign"
)
def update_campaign(
    request: HttpRequest, campaign_id: RecordId, payload: CampaignPatch, response: HttpResponse
):
    with transaction.atomic():
        campaign = _get_campaign(request, campaign_id, lock=True)
        check_if_match(request, campaign_out(campaign))
        values = payload.model_dump(exclude_unset=True)
        if values.get("name", "") is None:
            values.pop("name")
        campaign = actions.update_campaign(campaign, **values)
    shown = campaign_out(campaign)
    set_etag(response, shown)
    return shown


# --- activities ---------------------------------------------------------------------------


def _inputs(items: list[ActivityIn], actor_id: int) -> list[actions.ActivityInput]:
    return [
        actions.ActivityInput(
            contact_id=item.contact_id,
            type=item.type,
            occurred_at=item.occurred_at,
            source=item.source,
            campaign_id=item.campaign_id,
            actor_id=actor_id,
            payload=item.payload,
            external_id=item.external_id,
        )
        for item in items
    ]


@activities.get("", response={200: page_of(ActivityOut), **errors()}, summary="List activities")
def list_activities(request: HttpRequest, filters: Query[ActivityFilters], page: Query[PageParams]):
    _require_member(request)
    queryset = Activity.objects.all()
    if filters.contact_id is not None:
        queryset = queryset.filter(contact_id=filters.contact_id)
    if filters.type is not None:
        queryset = queryset.filter(type=filters.type)
    if filters.campaign_id is not None:
        queryset = queryset.filter(campaign_id=filters.campaign_id)
    if filters.since is not None:
        queryset = queryset.filter(occurred_at__gte=filters.since)
    if filters.until is not None:
        queryset = queryset.filter(occurred_at__lt=filters.until)
    return paginate(queryset, page, activity_out)


@activities.get("/{int:activity_id}", response={200: ActivityOut, **errors(404)}, summary="One activity")
def get_activity(request: HttpRequest, activity_id: RecordId):
    if not access.can_read_records(user_of(request)):
        raise not_found("activity")  # like an unknown id
    found = Activity.objects.filter(pk=activity_id).first()
    if found is None:
        raise not_found("activity")
    return activity_out(found)


@activities.post(
    "",
    response={201: ActivityOut, 200: ActivityOut, **errors(404, 409)},
    summary="Record an activity (201; 200 when its external id was recorded before)",
)
def create_activity(request: HttpRequest, payload: ActivityIn):
    user = _require_member(request)
    result = actions.record_activities(_inputs([payload], user.pk))
    if result.errors:
        details = [{"field": e.field, "code": e.code, "message": e.message} for e in result.errors]
        first = result.errors[0]
        status = 404 if first.code.startswith("unknown_") else 422
        raise ApiError(status, first.code, first.message, details=details)
    if result.created:
        return Status(201, activity_out(result.created[0]))
    return Status(200, activity_out(Activity.objects.get(external_id=payload.external_id)))


@activities.post(
    "/bulk",
    response={200: BulkOut, **errors()},
    summary=f"Record up to {MAX_BULK} activities at once; bad items are reported, the rest recorded",
)
def bulk_activities(request: HttpRequest, payload: BulkIn):
    user = _require_member(request)
    result = actions.record_activities(_inputs(payload.items, user.pk))
    return {
        "received": len(payload.items),
        "created": len(result.created),
        "duplicates": result.duplicates,
        "errors": [e.__dict__ for e in sorted(result.errors, key=lambda e: e.index)],
        "stage_changes": len(result.transitions),
    }
