"""Applying one valid row of each kind through the actions, in the row's own savepoint:
companies and people are upserted (``customers.actions``), deals qualified, moved, won and
lost (``deals.actions``), subscriptions started, changed, renewed and churned and NPS answers
recorded (``success.actions``), lifecycle entries advanced (``journey.actions.advance``).
A row the actions refuse is reported with the action's code and changes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, models, transaction
from django.utils import timezone

from kyogyo.customers import actions as customer_actions
from kyogyo.customers.models import Account, Contact
from kyogyo.deals import actions as deal_actions
from kyogyo.deals.models import Deal, PipelineStage
from kyogyo.handoffs.actions import HandoffError
from kyogyo.imports import lifecycle
from kyogyo.imports.mappings import DEFAULT_CURRENCY, CellError, Mapping, Record
from kyogyo.journey import rulebook
from kyogyo.journey.machine import JourneyError
from kyogyo.journey.models import ReasonCode, Transition
from kyogyo.marketing.actions import ActivityError
from kyogyo.ops.rows import Table
from kyogyo.org.models import User
from kyogyo.success import actions as success_actions
from kyogyo.success.models import NpsResponse, Subscription, SubscriptionChange

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
IMPORT = Transition.Via.IMPORT
ACTION_ERRORS = (
    JourneyError,
    deal_actions.DealError,
    success_actions.SubscriptionError,
    HandoffError,
    ActivityError,
)


class RowError(Exception):
    """The row cannot go in: one problem, with the column it is about."""

    def __init__(self, column: str, code: str, message: str):
        self.error = CellError(column, code, message)
        super().__init__(message)


@contextmanager
def blame(record: Record, name: str) -> Iterator[None]:
    """An action's refusal becomes the row's error, about the column of field ``name``."""
    try:
        yield
    except ActivityError as error:
        first = error.errors[0]
        raise RowError(record.column(name), first.code, first.message) from None
    except ACTION_ERRORS as error:
        raise RowError(record.column(name), error.code, str(error)) from None  # type: ignore[union-attr]


def past(record: Record, name: str, at: dt.datetime) -> None:
    """History is recorded after the fact: a time ahead of now is a broken cell."""
    if at > timezone.now():
        raise RowError(record.column(name), "in_future", f"{at.isoformat()} is in the future")


class Config:
    """What every row of a run may name, loaded once: stages, pipeline, reasons, users."""

    def __init__(self) -> None:
        self.stages = rulebook.load_stage_model()
        self.order = {key: i for i, key in enumerate(self.stages.stages)}
        self.pipeline = list(PipelineStage.objects.order_by("order"))
        self.reasons = list(ReasonCode.objects.filter(active=True).order_by("kind", "order"))
        self.owners: dict[str, User | None] = {}

    def pipeline_stage(self, text: str, record: Record) -> PipelineStage:
        for stage in self.pipeline:
            if text in (stage.key, stage.name.lower(), stage.name_ja.lower()):
                return stage
        known = ", ".join(s.key for s in self.pipeline)
        raise RowError(record.column("stage"), "bad_value", f"no pipeline stage {text!r} (stages: {known})")

    def reason(self, text: str, record: Record, name: str, kind: str | None = None) -> ReasonCode:
        for reason in self.reasons:
            if (kind is None or reason.kind == kind) and text in (
                reason.key,
                reason.label.lower(),
                reason.label_ja.lower(),
            ):
                return reason
        known = ", ".join(sorted({r.key for r in self.reasons if kind is None or r.kind == kind}))
        raise RowError(record.column(name), "bad_value", f"no reason {text!r} (reasons: {known})")

    def owner(self, text: str, record: Record, name: str = "owner") -> User:
        key = text.lower()
        if key not in self.owners:
            self.owners[key] = (
                User.objects.filter(username__iexact=text).first()
                or User.objects.filter(email__iexact=text).first()
            )
        owner = self.owners[key]
        if owner is None:
            message = f"no user with the username or email {text[:80]!r}"
            raise RowError(record.column(name), "unknown_owner", message)
        return owner


OWN_MODEL: dict[str, type[models.Model]] = {
    "accounts": Account,
    "contacts": Contact,
    "deals": Deal,
    "subscriptions": Subscription,
}


class Batch:
    """The records a batch of rows refers to, found with one query per key and batch (not
    per row); the batch's own records (the ones rows may change) are locked."""

    def __init__(
        self, mapping: Mapping, records: list[Record], config: Config, book: rulebook.RuleBook | None
    ) -> None:
        self.mapping = mapping
        self.config = config
        self.book = book
        model = OWN_MODEL.get(mapping.kind)
        own = ["external_id"] if mapping.kind in ("deals", "subscriptions") else mapping.match
        self.records = _Index(model, own, [r.values for r in records], lock=True) if model else None
        self.accounts = _Index(Account, mapping.account_by, [r.account for r in records], lock=False)
        self.contacts = _Index(Contact, mapping.contact_by, [r.contact for r in records], lock=False)
        self.deals = _Index(Deal, ["external_id"], [r.deal for r in records], lock=False)
        self.made: list[tuple[_Index, Any]] = []
        self.touched: list[models.Model] = []

    def apply(self, record: Record) -> str | None:
        """The row's outcome (created, updated, unchanged), or None with its errors added."""
        self.made, self.touched = [], []
        try:
            with transaction.atomic():
                outcome = HANDLERS[self.mapping.kind](self, record)
        except RowError as error:
            record.errors.append(error.error)
        except ValidationError as error:
            record.errors.extend(_validation_errors(error, record))
        except ACTION_ERRORS as error:
            record.errors.append(CellError("", error.code, str(error)))  # type: ignore[union-attr]
        except (IntegrityError, DatabaseError) as error:
            record.errors.append(CellError("", "conflict", str(error).splitlines()[0][:300]))
        else:
            for index, instance in self.made:  # only once the row's savepoint is released
                index.add(instance)
            return outcome
        for instance in self.touched:  # a failed update changed them in memory only
            instance.refresh_from_db()
        return None

    # ------------------------------------------------------------------ references

    def account(self, record: Record) -> Account | None:
        """The company the row names (``accounts.by`` in order), created from its name when
        unknown (unless ``accounts.create`` is false)."""
        ref = record.account
        found = self.accounts.find(ref)
        if found is not None:
            return found
        if not self.mapping.create_accounts or not ref.get("name"):
            if any(ref.values()):
                message = "no such company (and no company name to create it)"
                raise ValidationError({"account.name": ValidationError(message, code="unknown_account")})
            return None
        account = customer_actions.create_account(at=record.at, **ref)
        self.made.append((self.accounts, account))
        return account

    def person(self, record: Record) -> Contact:
        """The person the row names (``contacts.by`` in order); with ``first_of_account``, a row
        naming only a company goes to that company's first person."""
        if record.contact:
            found = self.contacts.find(record.contact)
            if found is None:
                name = "contact.external_id" if record.contact.get("external_id") else "contact.email"
                message = f"no contact {record.who()!r} (import the people first)"
                raise RowError(record.column(name), "unknown_contact", message)
            return found
        if self.mapping.first_of_account and record.account:
            account = self.accounts.find(record.account)
            first = (
                Contact.objects.filter(account=account).order_by("created_at", "pk").first()
                if account is not None
                else None
            )
            if first is not None:
                return first
            column = next((record.column(f"account.{k}") for k in record.account), "")
            message = "the company has no people yet (import its contacts first)"
            raise RowError(column, "unknown_contact", message)
        raise RowError("", "required", "no contact.external_id or contact.email to find the person by")

    def deal(self, record: Record) -> Deal | None:
        if not record.deal:
            return None
        found = self.deals.find(record.deal)
        if found is None:
            message = f"no deal {record.deal['external_id']!r} (import the deals first)"
            raise RowError(record.column("deal.external_id"), "unknown_deal", message)
        return found


# ------------------------------------------------------------------ companies and people


def upsert_account(batch: Batch, record: Record) -> str:
    assert batch.records is not None
    account = batch.records.find(record.values)
    if account is None:
        batch.made.append((batch.records, customer_actions.create_account(at=record.at, **record.values)))
        return CREATED
    changed = {k: v for k, v in record.values.items() if getattr(account, k) != v}
    if not changed:
        return UNCHANGED
    batch.touched.append(account)
    customer_actions.update_account(account, **changed)
    batch.made.append((batch.records, account))
    return UPDATED


def upsert_contact(batch: Batch, record: Record) -> str:
    """A person; with lifecycle dates, their recorded journey too (in date order)."""
    assert batch.records is not None
    values = dict(record.values)
    if "owner" in values:
        values["owner"] = batch.config.owner(values["owner"], record)
    if record.account:
        values["account"] = batch.account(record)
    contact = batch.records.find(record.values)
    outcome = UNCHANGED
    if contact is None:
        contact = _create_contact(batch, record, values)
        batch.made.append((batch.records, contact))
        outcome = CREATED
    else:
        changed = {k: v for k, v in values.items() if getattr(contact, k) != v}
        if changed:
            batch.touched.append(contact)
            customer_actions.update_contact(contact, **changed)
            batch.made.append((batch.records, contact))
            outcome = UPDATED
    if _record_lifecycle(batch, record, contact) and outcome == UNCHANGED:
        outcome = UPDATED
    return outcome


def _create_contact(batch: Batch, record: Record, values: dict[str, Any]) -> Contact:
    if not record.lifecycle:
        return customer_actions.create_contact(at=record.at, book=batch.book, **values)
    # A person with recorded history gets the journey the history says: it starts (as a
    # lead) at the earliest of their creation and their lifecycle dates, and the stage rules
    # do not re-judge the past (the scheduled rule run judges them from now on).
    start = min([*record.lifecycle.values(), *([record.at] if record.at else [])])
    contact = customer_actions.create_contact(at=start, book=batch.book, start_journey=False, **values)
    with blame(record, "created_at"):
        lifecycle.record_entry(contact, batch.config.stages.entry_key, start, batch.config.stages)
    return contact


def batchable(batch: Batch, record: Record) -> bool:
    """A new person without lifecycle dates: created with others (``create_new_contacts``)."""
    assert batch.records is not None
    return not record.lifecycle and batch.records.find(record.values) is None


def create_new_contacts(batch: Batch, new: list[Record]) -> int:
    """New people of consecutive rows (``batchable``), checked as ``create_contact`` checks
    them — owner, company, then the person — and created together with the companies they
    bring (``create_accounts``, ``create_contacts``); returns how many. The refused rows get
    the errors they get one by one. Should the database refuse the lot (another process took
    a key meanwhile, or two new companies of the rows share one), they go one by one."""
    fresh = _Index(Account, batch.mapping.account_by, [], lock=False)  # companies made here
    rows: list[tuple[Record, dict[str, Any]]] = []
    for record in new:
        try:
            rows.append((record, _new_values(batch, record, fresh)))
        except RowError as error:
            record.errors.append(error.error)
        except ValidationError as error:
            record.errors.extend(_validation_errors(error, record))
    rows = _refuse_taken_companies(rows)
    checked = customer_actions.check_contacts([values for _, values in rows])
    people: list[tuple[Record, Contact]] = []
    for index, ((record, _), contact) in enumerate(zip(rows, checked.records, strict=True)):
        if contact is None:
            record.errors.extend(_validation_errors(checked.errors[index], record))
        else:
            people.append((record, contact))
    companies: dict[int, Account] = {}
    for record, contact in people:  # a company comes with its first person who is created
        company = contact.account
        if company is not None and company.pk is None and id(company) not in companies:
            company.created_at = record.at or company.created_at
            companies[id(company)] = company
    try:
        with transaction.atomic():
            customer_actions.create_accounts(list(companies.values()))
            valid = customer_actions.Checked[Contact]([contact for _, contact in people], {})
            customer_actions.create_contacts(valid, book=batch.book)
    except (customer_actions.RowErrors, IntegrityError, DatabaseError, *ACTION_ERRORS):
        for record in new:  # each judged again, as if it were alone
            record.errors.clear()
        return sum(batch.apply(record) == CREATED for record in new)
    for company in companies.values():
        batch.accounts.add(company)
    assert batch.records is not None
    for _, contact in people:
        batch.records.add(contact)
    return len(people)


def _new_values(batch: Batch, record: Record, fresh: _Index) -> dict[str, Any]:
    """``create_contact``'s arguments for a new person's row, as ``upsert_contact`` makes
    them, except that a new company is made unsaved (its fields checked), found by later rows."""
    values: dict[str, Any] = {"at": record.at, **record.values}
    if "owner" in values:
        values["owner"] = batch.config.owner(values["owner"], record)
    if record.account:
        ref = record.account
        account = batch.accounts.find(ref) or fresh.find(ref)
        if account is None and batch.mapping.create_accounts and ref.get("name"):
            account = customer_actions.new_account(at=record.at, **ref)
            fresh.add(account)
        elif account is None and any(ref.values()):
            message = "no such company (and no company name to create it)"
            raise ValidationError({"account.name": ValidationError(message, code="unknown_account")})
        values["account"] = account
    return values


def _refuse_taken_companies(
    rows: list[tuple[Record, dict[str, Any]]],
) -> list[tuple[Record, dict[str, Any]]]:
    """A new company whose external id another company has already is refused, as
    ``create_account`` refuses it, for each of its people. (One taken by another new company
    of these rows only is left to ``create_accounts``: whether it is depends on which people
    are created.)"""
    companies = list({id(v["account"]): v["account"] for _, v in rows if _unsaved(v.get("account"))}.values())
    checked = customer_actions.check_accounts(companies)
    taken: dict[int, ValidationError] = {}
    for index in checked.errors:
        alone = customer_actions.check_accounts([companies[index]])
        if alone.errors:
            taken[id(companies[index])] = alone.errors[0]
    if not taken:
        return rows
    kept = []
    for record, values in rows:
        error = taken.get(id(values.get("account")))
        if error is None:
            kept.append((record, values))
        else:
            record.errors.extend(_validation_errors(error, record))
    return kept


def _unsaved(account: Account | None) -> bool:
    return account is not None and account.pk is None


def _record_lifecycle(batch: Batch, record: Record, contact: Contact) -> bool:
    moved = False
    order = batch.config.order
    for stage, at in sorted(record.lifecycle.items(), key=lambda entry: (entry[1], order[entry[0]])):
        past(record, f"lifecycle.{stage}", at)
        with blame(record, f"lifecycle.{stage}"):
            moved |= lifecycle.record_entry(contact, stage, at, batch.config.stages)
    return moved


# ------------------------------------------------------------------ deals


def upsert_deal(batch: Batch, record: Record) -> str:
    """A deal by its external id. New: the person is taken forward to SAL if the source
    skipped stages, qualified (SQL: the deal opens), taken on to opportunity, and — for a
    closed deal — won or lost at its closing time. Known: edits, a pipeline move, or the
    closing it did not have yet."""
    assert batch.records is not None
    values = record.values
    config = batch.config
    stage = config.pipeline_stage(values["stage"], record) if values.get("stage") else None
    status = values.get("status") or _status_of(stage)
    reason = None
    if status == Deal.Status.LOST:
        if not values.get("loss_reason"):
            message = "a lost deal needs a loss reason (loss_reason; a default in the mapping will do)"
            raise RowError(record.column("loss_reason"), "required", message)
        reason = config.reason(values["loss_reason"], record, "loss_reason", kind=ReasonCode.Kind.LOSS)
    close_field = "closed_at" if values.get("closed_at") else "expected_close"
    closed_at = values.get("closed_at") or (
        success_actions.moment_of(values["expected_close"]) if values.get("expected_close") else None
    )
    # Qualified at created_at; a closed deal without one at its closing; an open one now
    # (never at its expected close, which may lie ahead).
    closing = status != Deal.Status.OPEN
    qualify_field = "created_at" if record.at else (close_field if closing else "")
    qualify_at = record.at or (closed_at if closing else None) or timezone.now()
    closed_at = closed_at or qualify_at
    edits: dict[str, Any] = {
        k: values[k] for k in ("name", "amount", "currency", "probability", "expected_close") if k in values
    }
    if "owner" in values:
        edits["owner"] = config.owner(values["owner"], record)

    past(record, qualify_field, qualify_at)
    if closing:
        past(record, close_field, closed_at)
    deal = batch.records.find(values)
    outcome = UNCHANGED
    if deal is None:
        deal = _open_deal(batch, record, edits, qualify_at, qualify_field, open_=status == Deal.Status.OPEN)
        batch.made.append((batch.records, deal))
        outcome = CREATED
    else:
        changed = {k: v for k, v in edits.items() if getattr(deal, k) != v}
        if changed:
            with blame(record, next(iter(changed))):
                deal = deal_actions.update_deal(deal, **changed)
            outcome = UPDATED
    if deal.status != Deal.Status.OPEN:
        if status != deal.status and (values.get("status") or stage is not None):  # the file says so
            message = f"the deal is already {deal.status}; an import does not reopen or re-close a deal"
            raise RowError(record.column("status") or record.column("stage"), "closed", message)
        return outcome
    subject = deal.contact
    if status == Deal.Status.OPEN:
        if stage is not None and stage.pk != deal.pipeline_stage_id:
            with blame(record, "stage"):
                deal = deal_actions.move_deal(deal, stage)
            outcome = outcome if outcome == CREATED else UPDATED
        return outcome
    if subject is not None:  # won or lost: Field Sales had it (the handoff to them passed)
        with blame(record, qualify_field if outcome == CREATED else close_field):
            lifecycle.catch_up(subject, deal_actions.OPPORTUNITY_STAGE, qualify_at, config.stages)
    with blame(record, close_field):
        if status == Deal.Status.WON:
            deal_actions.win_deal(deal, actor=None, at=closed_at, via=IMPORT, stages=config.stages)
        else:
            assert reason is not None
            deal_actions.lose_deal(
                deal,
                actor=None,
                reason=reason,
                at=closed_at,
                via=IMPORT,
                note=values.get("loss_note", ""),
                stages=config.stages,
            )
    return outcome if outcome == CREATED else UPDATED


def _status_of(stage: PipelineStage | None) -> str:
    if stage is not None and stage.is_won:
        return Deal.Status.WON
    if stage is not None and stage.is_lost:
        return Deal.Status.LOST
    return Deal.Status.OPEN


def _open_deal(
    batch: Batch, record: Record, edits: dict[str, Any], at: dt.datetime, at_field: str, *, open_: bool
) -> Deal:
    if not edits.get("name"):
        raise RowError(record.column("name"), "required", "a new deal needs a name")
    subject = batch.person(record)
    stages = batch.config.stages
    with blame(record, at_field):
        lifecycle.catch_up(subject, "sal", at, stages)
    if subject.account_id is None:
        account = batch.account(record)
        if account is None:
            message = "the person has no company and the row names none (account.*)"
            raise RowError("", "no_account", message)
        batch.touched.append(subject)
        customer_actions.update_contact(subject, account=account)
    with blame(record, at_field):
        deal = deal_actions.qualify(
            subject,
            actor=None,
            via=IMPORT,
            name=edits["name"],
            amount=edits.get("amount", 0),
            currency=edits.get("currency", DEFAULT_CURRENCY),
            expected_close=edits.get("expected_close"),
            at=at,
            external_id=record.values["external_id"],
            stages=stages,
        )
    extra = {k: edits[k] for k in ("owner", "probability") if k in edits}
    if extra:
        with blame(record, next(iter(extra))):
            deal = deal_actions.update_deal(deal, **extra)
    if open_:  # an open deal from another system is being worked by Field Sales
        with blame(record, at_field):
            lifecycle.catch_up(subject, deal_actions.OPPORTUNITY_STAGE, at, stages)
    return deal


# ------------------------------------------------------------------ subscriptions


def apply_subscription(batch: Batch, record: Record) -> str:
    """One subscription as it stands (no ``event``), or one event of it: start, change (of
    MRR), renew, churn. Events already recorded count as unchanged."""
    assert batch.records is not None
    values = record.values
    event = values.get("event")
    subscription = batch.records.find(values)
    subject = _subscription_subject(batch, record, subscription)
    if subscription is None:
        if event not in (None, "start"):
            message = f"no subscription {values['external_id']!r} to {event} (start it first)"
            raise RowError(record.column("external_id"), "unknown_subscription", message)
        subscription = _start(batch, record)
        batch.made.append((batch.records, subscription))
        if event is None and values.get("ends_on"):
            with blame(record, "ends_on"):
                success_actions.churn(subscription, on=values["ends_on"], subject=subject)
        return CREATED
    active = subscription.status == Subscription.Status.ACTIVE
    if event is None:
        if values.get("ends_on") and active:
            return _churn(record, subscription, values["ends_on"], subject, "ends_on")
        if "mrr" in values and values["mrr"] != subscription.mrr and active:
            on = values.get("occurred_on") or timezone.localdate()
            with blame(record, "mrr"):
                success_actions.change_mrr(subscription, values["mrr"], on=on, subject=subject)
            return UPDATED
        return UNCHANGED
    if event == "start":
        return UNCHANGED
    on_field = "occurred_on" if values.get("occurred_on") or event != "churn" else "ends_on"
    on = values.get(on_field)
    if on is None:
        raise RowError(record.column(on_field), "required", f"a {event} needs its date ({on_field})")
    if event == "churn":
        return _churn(record, subscription, on, subject, on_field)
    if event == "renew":
        if subject is not None and _renewed(subject, on, batch):
            return UNCHANGED
        with blame(record, on_field):
            moved = success_actions.renew(subscription, on=on, subject=subject)
        return UPDATED if moved else UNCHANGED
    if "mrr" not in values:
        raise RowError(record.column("mrr"), "required", "an MRR change needs the new MRR (mrr)")
    recorded = SubscriptionChange.objects.filter(
        subscription=subscription,
        occurred_on=on,
        mrr_after=values["mrr"],
        kind__in=[SubscriptionChange.Kind.EXPANSION, SubscriptionChange.Kind.CONTRACTION],
    )
    if recorded.exists():
        return UNCHANGED
    with blame(record, "mrr"):
        success_actions.change_mrr(subscription, values["mrr"], on=on, subject=subject)
    return UPDATED


def _start(batch: Batch, record: Record) -> Subscription:
    values = record.values
    for name in ("plan", "mrr", "starts_on"):
        if values.get(name) is None:
            raise RowError(record.column(name), "required", f"a new subscription needs {name}")
    deal = batch.deal(record)
    account = batch.account(record) if record.account else (deal.account if deal else None)
    if account is None:
        raise RowError("", "required", "a new subscription needs its company (account.*) or deal")
    with blame(record, "mrr"):
        return success_actions.start_subscription(
            account,
            plan=values["plan"],
            mrr=values["mrr"],
            starts_on=values["starts_on"],
            currency=values.get("currency", DEFAULT_CURRENCY),
            billing_period=values.get("billing_period", Subscription.BillingPeriod.MONTHLY),
            deal=deal,
            external_id=values["external_id"],
        )


def _churn(
    record: Record, subscription: Subscription, on: dt.date, subject: Contact | None, field: str
) -> str:
    if subscription.status == Subscription.Status.CHURNED and subscription.ends_on == on:
        return UNCHANGED
    with blame(record, field):
        success_actions.churn(subscription, on=on, subject=subject)
    return UPDATED


def _renewed(subject: Contact, on: dt.date, batch: Batch) -> bool:
    renewed = batch.config.stages.stages.get("renewed")
    return (
        renewed is not None
        and Transition.objects.filter(
            subject=subject, to_stage_id=renewed.id, at=success_actions.moment_of(on)
        ).exists()
    )


def _subscription_subject(batch: Batch, record: Record, subscription: Subscription | None) -> Contact | None:
    """Whose journey moves with the subscription: the person the row names, else the deal's."""
    if record.contact:
        return batch.person(record)
    deal = batch.deal(record) or (subscription.deal if subscription is not None else None)
    return deal.contact if deal is not None else None


# ------------------------------------------------------------------ NPS and lifecycle rows


def record_answer(batch: Batch, record: Record) -> str:
    """An NPS answer; the same person at the same time is the same answer."""
    contact = batch.person(record)
    assert record.at is not None
    score = record.values["score"]
    existing = NpsResponse.objects.filter(contact=contact, answered_at=record.at).first()
    if existing is not None:
        if existing.score == score:
            return UNCHANGED
        message = f"an answer of this person at this time is recorded with score {existing.score}"
        raise RowError(record.column("score"), "conflict", message)
    with blame(record, "answered_at"):
        success_actions.record_nps(contact, score, comment=record.values.get("comment", ""), at=record.at)
    return CREATED


def record_lifecycle_row(batch: Batch, record: Record) -> str:
    """One stage entry of one person at its recorded time (skipped stages filled in)."""
    contact = batch.person(record)
    assert record.at is not None
    values = record.values
    stage = values["stage"]
    if stage not in batch.config.stages.stages:
        known = ", ".join(batch.config.stages.stages)
        raise RowError(record.column("stage"), "bad_value", f"no stage {stage!r} (stages: {known})")
    reason = batch.config.reason(values["reason"], record, "reason") if values.get("reason") else None
    past(record, "at", record.at)
    with blame(record, "at"):
        moved = lifecycle.record_entry(
            contact, stage, record.at, batch.config.stages, reason=reason, note=values.get("note", "")
        )
    return CREATED if moved else UNCHANGED


HANDLERS: dict[str, Callable[[Batch, Record], str]] = {
    "accounts": upsert_account,
    "contacts": upsert_contact,
    "deals": upsert_deal,
    "subscriptions": apply_subscription,
    "nps": record_answer,
    "lifecycle": record_lifecycle_row,
}


class _Index:
    """Records of one model found by several keys, loaded once per batch; names and domains
    match case-insensitively, ids and emails exactly."""

    CASELESS = ("name", "domain")

    def __init__(self, model: type[models.Model], fields: list[str], refs: list[dict], *, lock: bool):
        self.fields = fields
        self.found: dict[tuple[str, str], Any] = {}
        table = Table(model)
        loaded: dict[Any, Any] = {}  # by id: a record found by two keys is one instance
        for name in fields:
            wanted = {self._key(name, ref[name]) for ref in refs if ref.get(name)}
            if not wanted:
                continue
            for instance in table.find(name, wanted, caseless=name in self.CASELESS, lock=lock):
                instance = loaded.setdefault(instance.pk, instance)
                self.found.setdefault((name, self._key(name, getattr(instance, name))), instance)

    def _key(self, name: str, value: Any) -> str:
        return str(value).lower() if name in self.CASELESS else str(value)

    def find(self, ref: dict[str, Any]) -> Any:
        for name in self.fields:
            if ref.get(name):
                found = self.found.get((name, self._key(name, ref[name])))
                if found is not None:
                    return found
        return None

    def add(self, instance: Any) -> None:
        for name in self.fields:
            value = getattr(instance, name, None)
            if value:
                self.found.setdefault((name, self._key(name, value)), instance)


def _validation_errors(error: ValidationError, record: Record) -> Iterator[CellError]:
    if not hasattr(error, "error_dict"):
        yield CellError("", error.code or "invalid", "; ".join(error.messages))
        return
    for name, problems in error.error_dict.items():
        for problem in problems:
            column = record.columns.get(name) or record.columns.get(f"account.{name}") or name
            message = "; ".join(problem.messages)
            yield CellError(column, problem.code or "invalid", message)
