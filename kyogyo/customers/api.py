"""Companies and people over the API, through the same actions as the app: creating a person
starts their journey and runs the stage rules; a change re-scores fit and runs them again."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from kyogyo.api.auth import user_of
from kyogyo.api.conditional import check_if_match, set_etag
from kyogyo.api.errors import errors, forbidden, not_found
from kyogyo.api.pagination import PageParams, page_of, paginate
from kyogyo.api.params import (
    BodyId,
    Count,
    Input,
    Key,
    RecordId,
    RequiredText100,
    RequiredText200,
    Text40,
    Text60,
    Text100,
    Text150,
    Text200,
    Text254,
    Text2000,
    inline_choices,
    omissible,
)
from kyogyo.customers import actions
from kyogyo.customers.models import Account, Contact
from kyogyo.journey import actions as journey_actions
from kyogyo.journey.models import ReasonCode, Stage, Transition
from kyogyo.org import access, restricted
from kyogyo.org.models import User

accounts = Router(tags=["accounts"])
contacts = Router(tags=["contacts"])

# --- schemas ------------------------------------------------------------------------------


AccountKind = Annotated[Account.Kind, inline_choices(Account.Kind)]


class AccountOut(Schema):
    id: int
    name: str
    domain: str | None
    industry: str | None
    employee_count: int | None
    country: str
    segment: str | None
    kind: AccountKind
    external_id: str | None
    created_at: dt.datetime
    restricted: list[str] = Field(
        default_factory=list,
        description="fields withheld from you (restricted, docs/privacy.md): their value is null",
    )


class AccountPatch(Input):
    name: RequiredText200 = omissible()
    domain: Text200 = omissible()
    industry: Text100 = omissible()
    employee_count: Count | None = None
    country: str = omissible(pattern=r"^([A-Z]{2})?$", description="ISO 3166 code, or empty")
    segment: Text40 = omissible()
    kind: AccountKind = omissible()
    external_id: RequiredText100 | None = None


class AccountIn(AccountPatch):
    name: RequiredText200


class AccountFilters(Schema):
    name: Text200 = omissible(description="part of the name, any case")
    domain: Text200 = omissible()
    segment: Text40 = omissible()
    kind: AccountKind = omissible()
    external_id: Text100 | None = None


class ContactOut(Schema):
    id: int
    account_id: int | None
    email: str | None
    first_name: str | None
    last_name: str | None
    title: str | None
    phone: str | None
    consent: Contact.Consent
    source: str | None
    owner: str | None = Field(..., description="username of the owner")
    fit_score: int
    engagement_score: float
    last_activity_at: dt.datetime | None
    external_id: str | None
    created_at: dt.datetime
    stage: str | None = Field(..., description="current journey stage (key)")
    stage_since: dt.datetime | None
    restricted: list[str] = Field(
        default_factory=list,
        description="fields withheld from you (restricted, docs/privacy.md): their value is null",
    )


class ContactPatch(Input):
    account_id: BodyId | None = None
    email: Text254 | None = None
    first_name: Text100 = omissible()
    last_name: Text100 = omissible()
    title: Text150 = omissible()
    phone: Text40 = omissible()
    consent: Contact.Consent = omissible()
    source: Text60 = omissible()
    owner_id: BodyId | None = None
    external_id: RequiredText100 | None = None


class ContactIn(ContactPatch):
    pass


class ContactFilters(Schema):
    email: Text254 | None = None
    account_id: int | None = Field(None, ge=1, le=2**63 - 1)
    stage: Text40 | None = omissible(description="current stage key")
    owner_id: int | None = Field(None, ge=1, le=2**63 - 1)
    external_id: Text100 | None = None


class AdvanceIn(Input):
    stage: Key = Field(..., description="key of the stage to move to")
    reason: Text40 | None = omissible(description="reason code key, where the move needs one")
    note: Text2000 = ""


class ClassifyIn(Input):
    verdict: str = Field(
        ..., pattern="^(now|later|never)$", description="now → MQL, later → nurture, never → disqualified"
    )
    reason: Text40 | None = None
    note: Text2000 = ""


class TransitionOut(Schema):
    id: int
    seq: int
    from_stage: str | None
    to_stage: str
    at: dt.datetime
    via: str
    actor: str | None
    rule_version_id: int | None
    reason: str | None
    note: str
    is_reentry: bool


# --- serialising --------------------------------------------------------------------------


def account_out(account: Account, user: User) -> AccountOut:
    """The company as ``user`` may see it: restricted values null, named under ``restricted``."""
    values = {name: getattr(account, name) for name in AccountOut.model_fields if name != "restricted"}
    values["id"] = account.pk
    shown, hidden = restricted.policy(user).mask_values(account, values)
    return AccountOut(**shown, restricted=hidden)


def contact_out(contact: Contact, user: User) -> ContactOut:
    """The person as ``user`` may see them: restricted values null, named under ``restricted``."""
    values, hidden = restricted.policy(user).mask_values(contact, _contact_values_out(contact))
    return ContactOut(**values, restricted=hidden)


def _contact_values_out(contact: Contact) -> dict[str, Any]:
    milestone = getattr(contact, "milestone", None)
    return dict(
        id=contact.pk,
        account_id=contact.account_id,
        email=contact.email,
        first_name=contact.first_name,
        last_name=contact.last_name,
        title=contact.title,
        phone=contact.phone,
        consent=Contact.Consent(contact.consent),
        source=contact.source,
        owner=contact.owner.get_username() if contact.owner else None,
        fit_score=contact.fit_score,
        engagement_score=contact.engagement_score,
        last_activity_at=contact.last_activity_at,
        external_id=contact.external_id,
        created_at=contact.created_at,
        stage=milestone.current_stage.key if milestone else None,
        stage_since=milestone.current_since if milestone else None,
    )


def transition_out(transition: Transition) -> TransitionOut:
    return TransitionOut(
        id=transition.pk,
        seq=transition.seq,
        from_stage=transition.from_stage.key if transition.from_stage else None,
        to_stage=transition.to_stage.key,
        at=transition.at,
        via=transition.via,
        actor=transition.actor.get_username() if transition.actor else None,
        rule_version_id=transition.rule_version_id,
        reason=transition.reason.key if transition.reason else None,
        note=transition.note,
        is_reentry=transition.is_reentry,
    )


# --- lookups with access ------------------------------------------------------------------


def readable_accounts(user: User) -> QuerySet[Account]:
    if not access.can_read_records(user):
        return Account.objects.none()
    return Account.objects.all()


def readable_contacts(user: User) -> QuerySet[Contact]:
    if not access.can_read_records(user):
        return Contact.objects.none()
    return Contact.objects.select_related("owner", "milestone__current_stage")


def get_account(user: User, pk: int, *, lock: bool = False) -> Account:
    queryset = readable_accounts(user)
    found = (queryset.select_for_update() if lock else queryset).filter(pk=pk).first()
    if found is None:
        raise not_found("account")
    return found


def get_contact(user: User, pk: int, *, lock: bool = False) -> Contact:
    if lock:
        # Lock the person's row alone: a join in a locking query would lock the stage too.
        Contact.objects.select_for_update().filter(pk=pk).values_list("pk", flat=True).first()
    found = readable_contacts(user).filter(pk=pk).first()
    if found is None:
        raise not_found("contact")
    return found


def _matching(user: User, rows: QuerySet[Any], field: str) -> QuerySet[Any]:
    """The rows a filter on ``field`` may match: none where the value is hidden from ``user``."""
    rows, visible = restricted.policy(user).visible_rows(rows, [field])
    return rows if visible else rows.none()


def _reference(model: Any, pk: int | None, what: str, user: User) -> Any:
    if pk is None:
        return None
    if model is Account:
        return get_account(user, pk)
    found = model.objects.filter(pk=pk, is_active=True).first()
    if found is None:
        raise not_found(what)
    return found


def _contact_values(payload: ContactPatch, user: User) -> dict[str, Any]:
    values = payload.model_dump(exclude_unset=True)
    if "account_id" in values:
        values["account"] = _reference(Account, values.pop("account_id"), "account", user)
    if "owner_id" in values:
        values["owner"] = _reference(User, values.pop("owner_id"), "user", user)
    for name in ("email", "external_id"):
        if name in values and values[name] == "":
            values[name] = None
    return values


def _reason(key: str | None) -> ReasonCode | None:
    if not key:
        return None
    reason = ReasonCode.objects.filter(key=key, active=True).first()
    if reason is None:
        raise not_found("reason code")
    return reason


# --- accounts -----------------------------------------------------------------------------


@accounts.get("", response={200: page_of(AccountOut), **errors()}, summary="List companies")
def list_accounts(request: HttpRequest, filters: Query[AccountFilters], page: Query[PageParams]):
    user = user_of(request)
    if not access.can_read_records(user):
        raise forbidden("only members of a team can read the customer record")
    queryset = readable_accounts(user)
    if filters.name:
        queryset = queryset.filter(name__icontains=filters.name)
    for field in ("domain", "segment", "kind", "external_id"):
        if getattr(filters, field) is not None:
            queryset = _matching(user, queryset, field).filter(**{field: getattr(filters, field)})
    return paginate(queryset, page, lambda account: account_out(account, user))


@accounts.post("", response={201: AccountOut, **errors(409)}, summary="Create a company")
def create_account(request: HttpRequest, payload: AccountIn, response: HttpResponse):
    if not access.can_create_records(user_of(request)):
        raise forbidden("only members of a team can create companies")
    values = payload.model_dump(exclude_unset=True)
    account = actions.create_account(**values)
    shown = account_out(account, user_of(request))
    set_etag(response, shown)
    response["Location"] = f"/api/accounts/{account.pk}"
    return Status(201, shown)


@accounts.get("/{int:account_id}", response={200: AccountOut, **errors(404)}, summary="One company")
def get_account_view(request: HttpRequest, account_id: RecordId, response: HttpResponse):
    shown = account_out(get_account(user_of(request), account_id), user_of(request))
    set_etag(response, shown)
    return shown


@accounts.patch(
    "/{int:account_id}", response={200: AccountOut, **errors(404, 409, 412)}, summary="Change a company"
)
def update_account(request: HttpRequest, account_id: RecordId, payload: AccountPatch, response: HttpResponse):
    user = user_of(request)
    with transaction.atomic():
        account = get_account(user, account_id, lock=True)
        if not access.can_edit_account(user, account):
            raise forbidden("you may not change this company")
        check_if_match(request, account_out(account, user))
        values = payload.model_dump(exclude_unset=True)
        if "name" in values and values["name"] is None:
            values.pop("name")
        account = actions.update_account(account, **values)
    shown = account_out(account, user)
    set_etag(response, shown)
    return shown


# --- contacts -----------------------------------------------------------------------------


@contacts.get("", response={200: page_of(ContactOut), **errors()}, summary="List people")
def list_contacts(request: HttpRequest, filters: Query[ContactFilters], page: Query[PageParams]):
    user = user_of(request)
    if not access.can_read_records(user):
        raise forbidden("only members of a team can read the customer record")
    queryset = readable_contacts(user)
    if filters.email:
        queryset = _matching(user, queryset, "email").filter(email=filters.email.strip().lower())
    if filters.account_id is not None:
        queryset = queryset.filter(account_id=filters.account_id)
    if filters.owner_id is not None:
        queryset = queryset.filter(owner_id=filters.owner_id)
    if filters.external_id is not None:
        queryset = _matching(user, queryset, "external_id").filter(external_id=filters.external_id)
    if filters.stage:
        queryset = queryset.filter(milestone__current_stage__in=Stage.ids_where(key=filters.stage))
    return paginate(queryset, page, lambda contact: contact_out(contact, user))


@contacts.post(
    "", response={201: ContactOut, **errors(404, 409)}, summary="Create a person (starts the journey)"
)
def create_contact(request: HttpRequest, payload: ContactIn, response: HttpResponse):
    user = user_of(request)
    if not access.can_create_records(user):
        raise forbidden("only members of a team can create people")
    contact = actions.create_contact(actor=user, **_contact_values(payload, user))
    shown = contact_out(readable_contacts(user).get(pk=contact.pk), user)
    set_etag(response, shown)
    response["Location"] = f"/api/contacts/{contact.pk}"
    return Status(201, shown)


@contacts.get("/{int:contact_id}", response={200: ContactOut, **errors(404)}, summary="One person")
def get_contact_view(request: HttpRequest, contact_id: RecordId, response: HttpResponse):
    shown = contact_out(get_contact(user_of(request), contact_id), user_of(request))
    set_etag(response, shown)
    return shown


@contacts.patch(
    "/{int:contact_id}", response={200: ContactOut, **errors(404, 409, 412)}, summary="Change a person"
)
def update_contact(request: HttpRequest, contact_id: RecordId, payload: ContactPatch, response: HttpResponse):
    user = user_of(request)
    with transaction.atomic():
        contact = get_contact(user, contact_id, lock=True)
        if not access.can_change_contact(user, contact):
            raise forbidden(
                "only the team that owns this person's stage, their owner or a manager may change them"
            )
        check_if_match(request, contact_out(contact, user))
        actions.update_contact(contact, **_contact_values(payload, user))
    shown = contact_out(readable_contacts(user).get(pk=contact_id), user)
    set_etag(response, shown)
    return shown


@contacts.post(
    "/{int:contact_id}/advance",
    response={201: TransitionOut, **errors(404, 409)},
    summary="Move a person to a stage",
)
def advance(request: HttpRequest, contact_id: RecordId, payload: AdvanceIn):
    user = user_of(request)
    contact = get_contact(user, contact_id)
    if not access.can_change_contact(user, contact):
        raise forbidden("only the team that owns this person's stage, their owner or a manager may move them")
    transition = journey_actions.advance(
        contact,
        payload.stage,
        via=Transition.Via.USER,
        actor=user,
        reason=_reason(payload.reason),
        note=payload.note,
    )
    return Status(201, transition_out(transition))


@contacts.post(
    "/{int:contact_id}/classify",
    response={201: TransitionOut, **errors(404, 409)},
    summary="Classify a lead: now, later or never",
)
def classify(request: HttpRequest, contact_id: RecordId, payload: ClassifyIn):
    user = user_of(request)
    contact = get_contact(user, contact_id)
    if not access.can_change_contact(user, contact):
        raise forbidden(
            "only the team that owns this person's stage, their owner or a manager may classify them"
        )
    transition = journey_actions.classify(
        contact, payload.verdict, actor=user, reason=_reason(payload.reason), note=payload.note
    )
    return Status(201, transition_out(transition))


@contacts.get(
    "/{int:contact_id}/transitions",
    response={200: page_of(TransitionOut), **errors(404)},
    summary="A person's stage changes, oldest first",
)
def list_transitions(request: HttpRequest, contact_id: RecordId, page: Query[PageParams]):
    contact = get_contact(user_of(request), contact_id)
    queryset = Transition.objects.filter(subject=contact).select_related(
        "from_stage", "to_stage", "actor", "reason"
    )
    return paginate(queryset, page, transition_out)
