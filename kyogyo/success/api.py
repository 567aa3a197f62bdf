"""Subscriptions, their MRR movements and NPS answers over the API, through the same actions
as the app: an expansion, a renewal or a churn moves the named person's journey where the
stage model allows it, and an NPS answer is also a survey-answer activity on the timeline."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Body, Field, Query, Router, Schema, Status

from kyogyo.api.auth import user_of
from kyogyo.api.conditional import set_etag
from kyogyo.api.errors import ApiError, errors, forbidden, not_found
from kyogyo.api.pagination import PageParams, page_of, paginate
from kyogyo.api.params import (
    MAX_ID,
    Day,
    Input,
    Moment,
    RecordId,
    RequiredText100,
    Text2000,
    Whole,
    inline_choices,
)
from kyogyo.customers.api import TransitionOut, readable_accounts, readable_contacts, transition_out
from kyogyo.customers.models import Contact
from kyogyo.deals.api import MAX_AMOUNT, Currency, readable_deals
from kyogyo.marketing.actions import ActivityError
from kyogyo.org import access
from kyogyo.org.models import User
from kyogyo.success import actions
from kyogyo.success.models import NpsResponse, Subscription, SubscriptionChange

subscriptions = Router(tags=["subscriptions"])
nps = Router(tags=["NPS"])

ON_FIELD = Field(None, description="the day it takes effect (default: today, company time)")
CONTACT_FIELD = Field(
    None, ge=1, le=MAX_ID, description="the customer's person whose journey moves with it (optional)"
)


# --- schemas ------------------------------------------------------------------------------


SubscriptionStatus = Annotated[Subscription.Status, inline_choices(Subscription.Status)]
ChangeKind = Annotated[SubscriptionChange.Kind, inline_choices(SubscriptionChange.Kind)]


class SubscriptionOut(Schema):
    id: int
    account_id: int
    deal_id: int | None
    plan: str
    mrr: int = Field(..., description="monthly-normalised, in minor units")
    currency: str
    billing_period: Subscription.BillingPeriod
    starts_on: Day
    ends_on: Day | None
    status: SubscriptionStatus
    external_id: str | None


class SubscriptionIn(Input):
    account_id: Whole = Field(..., ge=1, le=MAX_ID)
    plan: RequiredText100
    mrr: Whole = Field(..., ge=0, le=MAX_AMOUNT, description="monthly-normalised, in minor units")
    starts_on: Day
    currency: Currency = "JPY"
    billing_period: Subscription.BillingPeriod = Subscription.BillingPeriod.MONTHLY
    deal_id: Whole | None = Field(None, ge=1, le=MAX_ID, description="the won deal it comes from")


class SubscriptionFilters(Schema):
    account_id: int | None = Field(None, ge=1, le=MAX_ID)
    status: SubscriptionStatus | None = None


class ChangeOut(Schema):
    id: int
    subscription_id: int
    kind: ChangeKind
    occurred_on: Day
    mrr_before: int
    mrr_after: int
    delta: int


class MrrIn(Input):
    mrr: Whole = Field(
        ..., ge=0, le=MAX_AMOUNT, description="the new MRR (more: expansion, less: contraction)"
    )
    on: Day | None = ON_FIELD
    contact_id: Whole | None = CONTACT_FIELD


class EventIn(Input):
    on: Day | None = ON_FIELD
    contact_id: Whole | None = CONTACT_FIELD


NO_BODY = EventIn()  # the body may be left out


class RenewOut(Schema):
    subscription: SubscriptionOut
    stage_change: TransitionOut | None = Field(
        ..., description="the person's move to renewed, when a person was named and the stage model allows it"
    )


class NpsOut(Schema):
    id: int
    contact_id: int
    account_id: int | None
    score: int
    category: str = Field(..., description="promoter (9–10), passive (7–8) or detractor (0–6)")
    comment: str
    answered_at: dt.datetime


class NpsIn(Input):
    contact_id: Whole = Field(..., ge=1, le=MAX_ID)
    score: Whole = Field(..., ge=0, le=10)
    comment: Text2000 = ""
    answered_at: Moment | None = Field(None, description="with a time zone; default now")


class NpsFilters(Schema):
    contact_id: int | None = Field(None, ge=1, le=MAX_ID)
    account_id: int | None = Field(None, ge=1, le=MAX_ID)
    since: Moment | None = Field(None, description="answered at or after")


# --- serialising --------------------------------------------------------------------------


def subscription_out(subscription: Subscription) -> SubscriptionOut:
    return SubscriptionOut.model_validate(subscription, from_attributes=True)


def change_out(change: SubscriptionChange) -> ChangeOut:
    return ChangeOut.model_validate(change, from_attributes=True)


def nps_out(response: NpsResponse) -> NpsOut:
    return NpsOut.model_validate(response, from_attributes=True)


# --- lookups with access ------------------------------------------------------------------


def _require_member(request: HttpRequest) -> User:
    user = user_of(request)
    if not access.can_read_records(user):
        raise forbidden("only members of a team can read the customer record")
    return user


def readable_subscriptions(user: User) -> QuerySet[Subscription]:
    if not access.can_read_records(user):
        return Subscription.objects.none()
    return Subscription.objects.all()


def get_subscription(user: User, pk: int) -> Subscription:
    found = readable_subscriptions(user).filter(pk=pk).first()
    if found is None:
        raise not_found("subscription")
    return found


def _subscription_to_change(request: HttpRequest, pk: int) -> tuple[User, Subscription]:
    user = user_of(request)
    subscription = get_subscription(user, pk)
    if not access.can_change_subscription(user, subscription):
        raise forbidden("only Customer Success or a manager may change subscriptions")
    return user, subscription


def _missing(what: str, field: str, pk: int) -> ApiError:
    return ApiError(
        404,
        "not_found",
        f"no {what} {pk}",
        details=[{"field": field, "code": "not_found", "message": f"no such {what}"}],
    )


def _invalid(field: str, code: str, message: str) -> ApiError:
    return ApiError(422, code, message, details=[{"field": field, "code": code, "message": message}])


def _person(user: User, pk: int | None, subscription: Subscription) -> Contact | None:
    """The person named to move with the subscription: readable, and of its company."""
    if pk is None:
        return None
    contact = readable_contacts(user).filter(pk=pk).first()
    if contact is None:
        raise _missing("contact", "contact_id", pk)
    if contact.account_id != subscription.account_id:
        raise _invalid(
            "contact_id", "wrong_account", f"contact {pk} is not a person of the subscription's company"
        )
    return contact


def _day(on: dt.date | None) -> dt.date:
    return on or timezone.localdate()


# --- subscriptions ------------------------------------------------------------------------


@subscriptions.get("", response={200: page_of(SubscriptionOut), **errors()}, summary="List subscriptions")
def list_subscriptions(request: HttpRequest, filters: Query[SubscriptionFilters], page: Query[PageParams]):
    user = _require_member(request)
    queryset = readable_subscriptions(user)
    if filters.account_id is not None:
        queryset = queryset.filter(account_id=filters.account_id)
    if filters.status is not None:
        queryset = queryset.filter(status=filters.status)
    return paginate(queryset, page, subscription_out)


@subscriptions.post("", response={201: SubscriptionOut, **errors(404, 409)}, summary="Start a subscription")
def create_subscription(request: HttpRequest, payload: SubscriptionIn, response: HttpResponse):
    user = user_of(request)
    if not access.can_change_subscription(user):
        raise forbidden("only Customer Success or a manager may start subscriptions")
    account = readable_accounts(user).filter(pk=payload.account_id).first()
    if account is None:
        raise _missing("account", "account_id", payload.account_id)
    deal = None
    if payload.deal_id is not None:
        deal = readable_deals(user).filter(pk=payload.deal_id).first()
        if deal is None:
            raise _missing("deal", "deal_id", payload.deal_id)
        if deal.account_id != account.pk:
            raise _invalid("deal_id", "wrong_account", f"deal {deal.pk} is another company's")
    subscription = actions.start_subscription(
        account,
        plan=payload.plan,
        mrr=payload.mrr,
        starts_on=payload.starts_on,
        currency=payload.currency,
        billing_period=payload.billing_period,
        deal=deal,
    )
    shown = subscription_out(subscription)
    set_etag(response, shown)
    response["Location"] = f"/api/subscriptions/{subscription.pk}"
    return Status(201, shown)


@subscriptions.get(
    "/{int:subscription_id}", response={200: SubscriptionOut, **errors(404)}, summary="One subscription"
)
def get_subscription_view(request: HttpRequest, subscription_id: RecordId, response: HttpResponse):
    shown = subscription_out(get_subscription(user_of(request), subscription_id))
    set_etag(response, shown)
    return shown


@subscriptions.post(
    "/{int:subscription_id}/mrr",
    response={201: ChangeOut, **errors(404, 409)},
    summary="Change the MRR: an expansion or a contraction",
)
def change_mrr(request: HttpRequest, subscription_id: RecordId, payload: MrrIn):
    user, subscription = _subscription_to_change(request, subscription_id)
    subject = _person(user, payload.contact_id, subscription)
    change = actions.change_mrr(subscription, payload.mrr, on=_day(payload.on), subject=subject, actor=user)
    return Status(201, change_out(change))


@subscriptions.post(
    "/{int:subscription_id}/renew",
    response={200: RenewOut, **errors(404, 409)},
    summary="Renew (MRR unchanged); the person's journey records renewed",
)
def renew(request: HttpRequest, subscription_id: RecordId, payload: Body[EventIn] = NO_BODY):
    user, subscription = _subscription_to_change(request, subscription_id)
    subject = _person(user, payload.contact_id, subscription)
    row = actions.renew(subscription, on=_day(payload.on), subject=subject, actor=user)
    return {
        "subscription": subscription_out(Subscription.objects.get(pk=subscription.pk)),
        "stage_change": transition_out(row) if row else None,
    }


@subscriptions.post(
    "/{int:subscription_id}/churn",
    response={201: ChangeOut, **errors(404, 409)},
    summary="Churn: the subscription ends, its MRR goes to zero",
)
def churn(request: HttpRequest, subscription_id: RecordId, payload: Body[EventIn] = NO_BODY):
    user, subscription = _subscription_to_change(request, subscription_id)
    subject = _person(user, payload.contact_id, subscription)
    change = actions.churn(subscription, on=_day(payload.on), subject=subject, actor=user)
    return Status(201, change_out(change))


@subscriptions.get(
    "/{int:subscription_id}/changes",
    response={200: page_of(ChangeOut), **errors(404)},
    summary="A subscription's MRR movements, oldest first",
)
def list_changes(request: HttpRequest, subscription_id: RecordId, page: Query[PageParams]):
    subscription = get_subscription(user_of(request), subscription_id)
    return paginate(SubscriptionChange.objects.filter(subscription=subscription), page, change_out)


# --- NPS ----------------------------------------------------------------------------------


@nps.get("", response={200: page_of(NpsOut), **errors()}, summary="List NPS answers")
def list_nps(request: HttpRequest, filters: Query[NpsFilters], page: Query[PageParams]):
    _require_member(request)
    queryset = NpsResponse.objects.all()
    if filters.contact_id is not None:
        queryset = queryset.filter(contact_id=filters.contact_id)
    if filters.account_id is not None:
        queryset = queryset.filter(account_id=filters.account_id)
    if filters.since is not None:
        queryset = queryset.filter(answered_at__gte=filters.since)
    return paginate(queryset, page, nps_out)


@nps.post(
    "",
    response={201: NpsOut, **errors(404, 409)},
    summary="Record an NPS answer (also a survey-answer activity)",
)
def create_nps(request: HttpRequest, payload: NpsIn):
    user = user_of(request)
    if not access.can_record_nps(user):
        raise forbidden("only Customer Success or a manager may record NPS answers")
    contact = readable_contacts(user).filter(pk=payload.contact_id).first()
    if contact is None:
        raise _missing("contact", "contact_id", payload.contact_id)
    try:
        answer = actions.record_nps(contact, payload.score, comment=payload.comment, at=payload.answered_at)
    except ActivityError as exc:
        # The answer's activity was refused (a time in the future): nothing was kept.
        first = exc.errors[0]
        field = "answered_at" if first.field == "occurred_at" else first.field
        raise _invalid(field, first.code, first.message.replace("occurred_at", "answered_at")) from exc
    return Status(201, nps_out(answer))
