"""The bulk driver: the demo story planned in memory with the engine's own pure parts
(the state machine, the rule book, scoring, routing rotation, the business calendar) and
written with multi-row inserts (SQLite) or COPY (PostgreSQL).

It mirrors, call for call, what the actions write; ``test_demo_bulk_matches_actions``
builds the same company both ways and compares every table row by row. One person's
life is simulated whole before the next, so memory holds only that person's rows, the
companies and the routing cursors."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import Count

from kyogyo.customers.models import Account, Contact
from kyogyo.deals.actions import NOT_ACCEPTED, OPPORTUNITY_STAGE, QUALIFIED_STAGE, WON_STAGE, DealError
from kyogyo.deals.models import Deal, DealMove, PipelineStage
from kyogyo.demo.scenario import AccountSpec, HandoffView, PersonSpec
from kyogyo.handoffs import routing
from kyogyo.handoffs.actions import load_calendar
from kyogyo.handoffs.models import Handoff
from kyogyo.journey import actions as journey_actions
from kyogyo.journey import criteria, machine, rulebook
from kyogyo.journey.machine import JourneyError, SubjectState
from kyogyo.journey.models import Milestone, ReasonCode, Stage, Transition
from kyogyo.marketing.actions import ActivityError, ActivityInput, item_errors
from kyogyo.marketing.models import Activity
from kyogyo.org.models import Team
from kyogyo.scoring import engine as scoring
from kyogyo.success.actions import SubscriptionError, moment_of
from kyogyo.success.models import NpsResponse, Subscription, SubscriptionChange

TABLES: list[type[models.Model]] = [
    Contact,
    Activity,
    Transition,
    Milestone,
    Handoff,
    Deal,
    DealMove,
    Subscription,
    SubscriptionChange,
    NpsResponse,
]


def placeholder(pool_no: int, k: int, pools: int) -> int:
    """Stands for "the k-th user the rotation of pool ``pool_no`` hands out in this shard";
    negative so it can never be a real id. ``loader`` resolves it once the rotation's
    position at the start of the shard is known."""
    return -(1 + pool_no + pools * k)


def unplace(value: int, pools: int) -> tuple[int, int]:
    n = -value - 1
    return n % pools, n // pools


@dataclass
class BulkConfig:
    """Everything a shard needs, read from the database once before the shards fork."""

    book: rulebook.RuleBook
    calendar: Any
    reasons: dict[tuple[str, str], ReasonCode]
    pipeline: dict[str, PipelineStage]
    pools: dict[int, tuple[list[tuple[dict | None, routing.Pool]], routing.Pool]]
    pool_keys: list[str]
    company: Any  # scenario.Company
    account_ids: dict[int, int]  # company index → account id
    churned_accounts: frozenset[int]
    active_subscriptions: dict[int, int]  # account id → active subscriptions

    @classmethod
    def load(cls, company: Any, account_ids: dict[int, int]) -> BulkConfig:
        pools = {team.pk: routing.load_pools(team.pk) for team in Team.objects.order_by("pk")}
        keys = [
            pool.key for rules, team_pool in pools.values() for pool in [*(p for _, p in rules), team_pool]
        ]
        return cls(
            book=rulebook.load(),
            calendar=load_calendar(),
            reasons={(r.kind, r.key): r for r in ReasonCode.objects.select_related("sends_to")},
            pipeline={p.key: p for p in PipelineStage.objects.order_by("order")},
            pools=pools,
            pool_keys=keys,
            company=company,
            account_ids=account_ids,
            churned_accounts=frozenset(
                Subscription.objects.filter(status=Subscription.Status.CHURNED).values_list(
                    "account_id", flat=True
                )
            ),
            active_subscriptions=dict(
                Subscription.objects.filter(status=Subscription.Status.ACTIVE)
                .values("account_id")
                .annotate(n=Count("id"))
                .values_list("account_id", "n")
            ),
        )


@dataclass
class ShardResult:
    """A shard's rows with shard-local ids (1, 2, …) and rotation placeholders."""

    shard: int
    people: int
    rows: dict[type[models.Model], list[dict[str, Any]]]
    pools_first_used: list[int]
    assignments: dict[int, int]
    rehash: set[int]  # local contact ids whose chain includes a placeholder actor
    customer_accounts: set[int]


@dataclass
class _Person:
    contact: Any  # a _PersonRecord: reads like a Contact to the rules
    # contact_fields and their normalised texts, reused while the person's data stays the same
    fields: dict[str, Any] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    state: SubjectState = field(default_factory=SubjectState)
    milestone: dict[str, Any] | None = None
    touches: list[tuple[str, dt.datetime]] = field(default_factory=list)
    transitions: list[dict[str, Any]] = field(default_factory=list)
    handoffs: list[dict[str, Any]] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)
    deals: dict[int, dict[str, Any]] = field(default_factory=dict)
    deal_moves: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: dict[int, dict[str, Any]] = field(default_factory=dict)
    changes: list[dict[str, Any]] = field(default_factory=list)
    nps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def open_handoff(self) -> dict[str, Any] | None:
        for handoff in reversed(self.handoffs):
            if handoff["status"] == Handoff.Status.OPEN:
                return handoff
        return None


class BulkDriver:
    """Simulates one shard. Ids are shard-local; round-robin assignees are placeholders."""

    def __init__(self, config: BulkConfig, shard: int = 0) -> None:
        self.config = config
        self.shard = shard
        self.book = config.book
        self.stages = self.book.stages
        self.calendar = config.calendar
        self.reasons = config.reasons
        self.reason_by_id = {r.pk: r for r in config.reasons.values()}
        self.pipeline = config.pipeline
        open_stages = [p for p in config.pipeline.values() if not p.is_closed]
        self.first_open_stage = open_stages[0] if open_stages else None
        self.won_stage = next((p for p in config.pipeline.values() if p.is_won), None)
        self.lost_stage = next((p for p in config.pipeline.values() if p.is_lost), None)
        self.pool_no = {key: n for n, key in enumerate(config.pool_keys)}
        self.ids: dict[type[models.Model], int] = dict.fromkeys(TABLES, 1)
        self.rows: dict[type[models.Model], list[dict[str, Any]]] = {m: [] for m in TABLES}
        self.accounts: dict[int, Any] = {}
        self.account_index = {account_id: index for index, account_id in config.account_ids.items()}
        self.assignments: dict[int, int] = {}
        self.pools_first_used: list[int] = []
        self.rehash: set[int] = set()
        self.customer_accounts: set[int] = set()
        self.churned_accounts: set[int] = set(config.churned_accounts)
        self.active_subscriptions: dict[int, int] = dict(config.active_subscriptions)
        self.people = 0
        self.person: _Person | None = None

    def _id(self, model: type[models.Model]) -> int:
        value = self.ids[model]
        self.ids[model] = value + 1
        return value

    def _current(self, contact_id: int) -> _Person:
        assert self.person is not None and self.person.contact.pk == contact_id
        return self.person

    # ---------------------------------------------------------------- records

    def account(self, spec: AccountSpec, at: dt.datetime) -> int:
        raise NotImplementedError("the loader writes companies before the shards run")

    def _account(self, account_id: int) -> Any:
        """The company as the actions would read it (built from its spec on first use)."""
        account = self.accounts.get(account_id)
        if account is None:
            company = self.config.company
            index = self.account_index[account_id]
            spec = (
                company.account(index)
                if index >= 0
                else next(a for a in company.all_specials() if a.index == index)
            )
            account = self.accounts[account_id] = _Record(
                pk=account_id,
                name=spec.name,
                domain=spec.domain,
                industry=spec.industry,
                employee_count=spec.employee_count,
                country=spec.country,
                segment=spec.segment,
                kind=spec.kind,
            )
        return account

    def contact(self, spec: PersonSpec, account_id: int | None, at: dt.datetime) -> int:
        self._finish_person()
        self.people += 1
        contact: Any = _PersonRecord(
            id=self._id(Contact),
            account=self._account(account_id) if account_id else None,
            account_id=account_id,
            email=spec.email.strip().lower(),
            first_name=spec.first_name,
            last_name=spec.last_name,
            title=spec.title,
            source=spec.source,
            consent=Contact.Consent.GRANTED,
            created_at=at,
        )
        fields = rulebook.contact_fields(contact)
        facts = criteria.Facts(now=at, fields=fields, metrics={})
        contact.fit_score = scoring.fit_score(
            scoring.fit_contributions(self.book.scoring.fit_rules, facts, self.book.lists),
        )
        self.person = _Person(contact, fields=fields)
        self._advance(self.stages.entry_key, at, via=Transition.Via.SYSTEM)
        self._rules(at)
        return contact.pk

    def activity(
        self, contact_id: int, type: str, at: dt.datetime, campaign_id: int | None, source: str, payload: dict
    ) -> None:
        self._record_activity(
            ActivityInput(contact_id, type, at, source=source, campaign_id=campaign_id, payload=payload)
        )

    def _record_activity(self, item: ActivityInput) -> None:
        person = self._current(item.contact_id)
        errors = item_errors(0, item, item.occurred_at)
        if errors:
            raise ActivityError(errors)
        person.activities.append(
            {
                "id": self._id(Activity),
                "contact_id": item.contact_id,
                "type": item.type,
                "occurred_at": item.occurred_at,
                "source": item.source,
                "campaign_id": item.campaign_id,
                "actor_id": item.actor_id,
                "payload": item.payload or {},
                "external_id": item.external_id,
            }
        )
        contact = person.contact
        contact.engagement_score, contact.engagement_at = scoring.add_touch(
            contact.engagement_score,
            contact.engagement_at,
            item.occurred_at,
            self.book.scoring.weights.get(item.type, 0.0),
            self.book.scoring.half_life_days,
        )
        if contact.last_activity_at is None or item.occurred_at > contact.last_activity_at:
            contact.last_activity_at = item.occurred_at
        person.touches.append((item.type, item.occurred_at))
        if person.state.current is None:
            self._advance(self.stages.entry_key, item.occurred_at, via=Transition.Via.SYSTEM)
        self._rules(item.occurred_at)

    def tick(self, contact_id: int, at: dt.datetime) -> None:
        self._current(contact_id)
        self._rules(at)

    def stage(self, contact_id: int) -> str | None:
        return self._current(contact_id).state.current

    def open_handoff(self, contact_id: int) -> HandoffView | None:
        handoff = self._current(contact_id).open_handoff
        return HandoffView(handoff["assigned_to_id"], handoff["due_at"]) if handoff else None

    # ---------------------------------------------------------------- journey

    def _rules(self, at: dt.datetime) -> None:
        person = self.person
        assert person is not None
        for _ in range(journey_actions.MAX_RULE_CHAIN):
            rule = rulebook.next_rule_move(
                self.book,
                person.contact,
                person.state,
                person.touches,
                at,
                fields=person.fields,
                texts=person.texts,
            )
            if rule is None:
                return
            reason = self.reason_by_id.get(rule.reason_id) if rule.reason_id else None
            try:
                self._advance(
                    rule.to_key, at, via=Transition.Via.RULE, rule_version_id=rule.version_id, reason=reason
                )
            except JourneyError as exc:
                if exc.code in ("stale", "handoff_open"):
                    return
                raise

    def _advance(
        self,
        to_key: str,
        at: dt.datetime,
        *,
        via: str,
        actor_id: int | None = None,
        rule_version_id: int | None = None,
        reason: ReasonCode | None = None,
        note: str = "",
    ) -> dict:
        person = self.person
        assert person is not None
        actor: Any = _Actor(actor_id) if actor_id else None  # check_inputs only asks "is there one?"
        journey_actions.check_inputs(self.stages, to_key, via, actor, reason, note, rule_version_id)
        state = person.state
        if (
            via != Transition.Via.HANDOFF
            and state.current
            and self.stages.get(state.current).hands_to_id
            and person.open_handoff is not None
        ):
            raise JourneyError("handoff_open", f"the subject waits in {state.current!r} on a handoff")
        planned = machine.plan(
            self.stages,
            state,
            to_key,
            at,
            via=via,
            actor_id=actor_id,
            rule_version_id=rule_version_id,
            reason_id=reason.pk if reason else None,
            note=note,
        )
        row = {
            "id": self._id(Transition),
            "subject_id": person.contact.pk,
            "seq": planned.seq,
            "from_stage_id": planned.from_id,
            "to_stage_id": planned.to_id,
            "at": planned.at,
            "via": planned.via,
            "actor_id": planned.actor_id,
            "rule_version_id": planned.rule_version_id,
            "reason_id": planned.reason_id,
            "note": planned.note,
            "is_reentry": planned.is_reentry,
            "hash": planned.hash,
        }
        person.transitions.append(row)
        person.state = machine.apply(state, planned)
        if planned.opens_handoff:
            self._open_handoff(row)
        return row

    def _open_handoff(self, transition: dict) -> None:
        person = self.person
        assert person is not None
        stage = self.stages.by_id[transition["to_stage_id"]]
        at = transition["at"]
        contact = person.contact
        rules, team_pool = self.config.pools[stage.hands_to_id]  # type: ignore[index]
        facts = criteria.Facts(
            now=at,
            fields=person.fields,
            texts=person.texts,
            metrics={
                "fit_score": contact.fit_score,
                "engagement_score": contact.engagement_score,
            },
        )
        pool = routing.choose_pool(rules, team_pool, facts, dict(self.book.lists))
        assigned = None
        if pool.user_ids:
            number = self.pool_no[pool.key]
            if number not in self.assignments:
                self.pools_first_used.append(number)
            k = self.assignments.get(number, 0)
            self.assignments[number] = k + 1
            assigned = placeholder(number, k, len(self.pool_no))
            self.rehash.add(contact.pk)
        person.handoffs.append(
            {
                "id": self._id(Handoff),
                "transition_id": transition["id"],
                "subject_id": contact.pk,
                "stage_id": stage.id,
                "from_team_id": stage.team_id,
                "to_team_id": stage.hands_to_id,
                "assigned_to_id": assigned,
                "created_at": at,
                "due_at": self.calendar.add_business_hours(at, stage.sla_hours or 0),
                "status": Handoff.Status.OPEN,
                "acted_at": None,
                "acted_by_id": None,
                "reason_id": None,
                "note": "",
                "breached_at": None,
                "resolution_id": None,
            }
        )

    def _close_handoff(self, status: str, actor_id: int, at: dt.datetime, reason: ReasonCode | None) -> None:
        person = self.person
        assert person is not None
        handoff = person.open_handoff
        assert handoff is not None
        if reason is not None:
            target = (
                reason.sends_to.key
                if reason.sends_to
                else self.stages.by_id[
                    next(t for t in person.transitions if t["id"] == handoff["transition_id"])[
                        "from_stage_id"
                    ]
                ].key
            )
        else:
            target = self.stages.by_id[handoff["stage_id"]].accept_to_key or ""
        row = self._advance(target, at, via=Transition.Via.HANDOFF, actor_id=actor_id, reason=reason)
        handoff.update(
            status=status,
            acted_at=at,
            acted_by_id=actor_id,
            reason_id=reason.pk if reason else None,
            note="",
            resolution_id=row["id"],
        )
        if at > handoff["due_at"] and handoff["breached_at"] is None:
            handoff["breached_at"] = handoff["due_at"]
        leaves_pipeline = self.stages.get(target).category in (Stage.Category.RECYCLE, Stage.Category.EXIT)
        if (
            reason is not None
            and self.stages.by_id[handoff["stage_id"]].key == QUALIFIED_STAGE
            and leaves_pipeline
        ):
            # as deals.receivers.close_deals_of_rejected_sql
            not_accepted = self.reasons.get(("loss", NOT_ACCEPTED))
            for deal in person.deals.values():
                if deal["status"] == Deal.Status.OPEN:
                    if self.lost_stage is not None:
                        self._record_move(deal, self.lost_stage.pk, at, None)
                    deal.update(
                        status=Deal.Status.LOST,
                        closed_at=at,
                        version=deal["version"] + 1,
                        loss_reason_id=not_accepted.pk if not_accepted else None,
                    )

    def accept(self, contact_id: int, actor_id: int, at: dt.datetime) -> None:
        self._current(contact_id)
        self._close_handoff(Handoff.Status.ACCEPTED, actor_id, at, None)

    def reject(self, contact_id: int, actor_id: int, reason: str, at: dt.datetime) -> None:
        self._current(contact_id)
        self._close_handoff(Handoff.Status.REJECTED, actor_id, at, self.reasons[("reject", reason)])

    def move(self, contact_id: int, stage: str, actor_id: int, at: dt.datetime) -> None:
        self._current(contact_id)
        self._advance(stage, at, via=Transition.Via.USER, actor_id=actor_id)

    # ---------------------------------------------------------------- deals

    def qualify(
        self,
        contact_id: int,
        actor_id: int,
        at: dt.datetime,
        name: str,
        amount: int,
        expected_close: dt.date,
        campaign_id: int | None,
    ) -> tuple[int, int | None]:
        person = self._current(contact_id)
        if person.contact.account_id is None:
            raise DealError("no_account", "a deal needs the person to belong to a company")
        self._advance(QUALIFIED_STAGE, at, via=Transition.Via.USER, actor_id=actor_id)
        handoff = person.open_handoff
        owner = handoff["assigned_to_id"] if handoff else actor_id
        reopened = next((d for d in person.deals.values() if d["status"] == Deal.Status.OPEN), None)
        if reopened is not None:  # as deals.actions._requalify
            reopened.update(
                name=name,
                amount=amount,
                currency="JPY",
                expected_close=expected_close,
                owner_id=owner,
                version=reopened["version"] + 1,
            )
            return reopened["id"], owner
        deal: dict[str, Any] = {
            "id": self._id(Deal),
            "name": name,
            "account_id": person.contact.account_id,
            "contact_id": contact_id,
            "amount": amount,
            "currency": "JPY",
            "pipeline_stage_id": self.first_open_stage.pk,  # type: ignore[union-attr]
            "status": Deal.Status.OPEN,
            "probability": None,
            "expected_close": expected_close,
            "owner_id": owner,
            "loss_reason_id": None,
            "campaign_id": campaign_id,
            "created_at": at,
            "closed_at": None,
            "stage_changed_at": at,  # as deals.actions.qualify
            "external_id": None,
            "version": 1,
        }
        person.deals[deal["id"]] = deal
        return deal["id"], owner

    def _deal(self, deal_id: int) -> dict:
        assert self.person is not None
        deal = self.person.deals[deal_id]
        if deal["status"] != Deal.Status.OPEN:
            raise DealError("closed", "the deal is closed")
        return deal

    def _record_move(self, deal: dict, stage_id: int, at: dt.datetime, actor_id: int | None) -> None:
        """As deals.actions._record_move: the deal's step into ``stage_id``, logged."""
        if deal["pipeline_stage_id"] == stage_id:
            return
        assert self.person is not None
        self.person.deal_moves.append(
            {
                "id": self._id(DealMove),
                "deal_id": deal["id"],
                "from_stage_id": deal["pipeline_stage_id"],
                "to_stage_id": stage_id,
                "at": at,
                "actor_id": actor_id,
            }
        )
        deal.update(pipeline_stage_id=stage_id, stage_changed_at=at)

    def move_deal(self, deal_id: int, pipeline_stage: str, actor_id: int | None, at: dt.datetime) -> None:
        deal = self._deal(deal_id)
        self._record_move(deal, self.pipeline[pipeline_stage].pk, at, actor_id)
        deal["version"] += 1

    def win(self, deal_id: int, actor_id: int | None, at: dt.datetime) -> None:
        deal = self._deal(deal_id)
        self._advance(WON_STAGE, at, via=Transition.Via.USER, actor_id=actor_id)
        self._record_move(deal, self.won_stage.pk, at, actor_id)  # type: ignore[union-attr]
        deal.update(status=Deal.Status.WON, closed_at=at, version=deal["version"] + 1)

    def lose(self, deal_id: int, actor_id: int | None, reason: str, at: dt.datetime) -> None:
        deal = self._deal(deal_id)
        code = self.reasons[("loss", reason)]
        target = code.sends_to.key if code.sends_to else "nurture"
        if self.person.state.current == OPPORTUNITY_STAGE:  # type: ignore[union-attr]
            self._advance(target, at, via=Transition.Via.USER, actor_id=actor_id, reason=code)
        self._record_move(deal, self.lost_stage.pk, at, actor_id)  # type: ignore[union-attr]
        deal.update(
            status=Deal.Status.LOST, closed_at=at, loss_reason_id=code.pk, version=deal["version"] + 1
        )

    # ---------------------------------------------------------------- customer success

    def subscribe(self, account_id: int, deal_id: int, plan: str, mrr: int, on: dt.date) -> int:
        person = self.person
        assert person is not None
        # as success.actions.start_subscription: reactivation only for a company that left
        returning = account_id in self.churned_accounts and not self.active_subscriptions.get(account_id)
        self.active_subscriptions[account_id] = self.active_subscriptions.get(account_id, 0) + 1
        subscription: dict[str, Any] = {
            "id": self._id(Subscription),
            "account_id": account_id,
            "deal_id": deal_id,
            "plan": plan,
            "mrr": mrr,
            "currency": "JPY",
            "billing_period": Subscription.BillingPeriod.MONTHLY,
            "starts_on": on,
            "ends_on": None,
            "status": Subscription.Status.ACTIVE,
            "external_id": None,
        }
        person.subscriptions[subscription["id"]] = subscription
        kind = SubscriptionChange.Kind.REACTIVATION if returning else SubscriptionChange.Kind.NEW
        self._change(subscription["id"], kind, on, 0, mrr)
        account = self.accounts[account_id]
        if account.kind != Account.Kind.CUSTOMER:
            account.kind = Account.Kind.CUSTOMER
            self.customer_accounts.add(account_id)
            if person.contact.account_id == account_id:  # the person's facts see the new kind
                person.fields = rulebook.contact_fields(person.contact)
                person.texts = {}
        return subscription["id"]

    def _change(self, subscription_id: int, kind: str, on: dt.date, before: int, after: int) -> None:
        assert self.person is not None
        self.person.changes.append(
            {
                "id": self._id(SubscriptionChange),
                "subscription_id": subscription_id,
                "kind": kind,
                "occurred_on": on,
                "mrr_before": before,
                "mrr_after": after,
            }
        )

    def _move_if_allowed(self, stage: str, at: dt.datetime) -> None:
        state = self.person.state  # type: ignore[union-attr]
        if state.current is None or stage not in self.stages.get(state.current).exits:
            return
        since = state.current_since or at
        self._advance(stage, max(at, since), via=Transition.Via.SYSTEM)

    def _active(self, subscription_id: int) -> dict:
        subscription = self.person.subscriptions[subscription_id]  # type: ignore[union-attr]
        if subscription["status"] != Subscription.Status.ACTIVE:
            raise SubscriptionError("not_active", "the subscription is not active")
        return subscription

    def change_mrr(self, subscription_id: int, mrr: int, on: dt.date, contact_id: int) -> None:
        subscription = self._active(subscription_id)
        if mrr in (subscription["mrr"], 0):
            raise SubscriptionError("bad_mrr", "the MRR must change and stay above zero")
        kind = (
            SubscriptionChange.Kind.EXPANSION
            if mrr > subscription["mrr"]
            else SubscriptionChange.Kind.CONTRACTION
        )
        self._change(subscription_id, kind, on, subscription["mrr"], mrr)
        subscription["mrr"] = mrr
        if kind == SubscriptionChange.Kind.EXPANSION:
            self._move_if_allowed("expanded", moment_of(on))

    def renew(self, subscription_id: int, on: dt.date, contact_id: int) -> None:
        self._active(subscription_id)
        self._move_if_allowed("renewed", moment_of(on))

    def churn(self, subscription_id: int, on: dt.date, contact_id: int) -> None:
        subscription = self._active(subscription_id)
        self._change(subscription_id, SubscriptionChange.Kind.CHURN, on, subscription["mrr"], 0)
        subscription.update(status=Subscription.Status.CHURNED, ends_on=on, mrr=0)
        self.churned_accounts.add(subscription["account_id"])
        self.active_subscriptions[subscription["account_id"]] -= 1
        self._move_if_allowed("churned", moment_of(on))

    def nps(self, contact_id: int, score: int, comment: str, at: dt.datetime) -> None:
        person = self._current(contact_id)
        person.nps.append(
            {
                "id": self._id(NpsResponse),
                "contact_id": contact_id,
                "account_id": person.contact.account_id,
                "score": score,
                "comment": comment,
                "answered_at": at,
            }
        )
        self._record_activity(
            ActivityInput(contact_id, "survey_answer", at, source="nps", payload={"nps": score})
        )

    # ---------------------------------------------------------------- writing

    def _finish_person(self) -> None:
        person, self.person = self.person, None
        if person is None:
            return
        rows = self.rows
        rows[Contact].append(person.contact.row())
        rows[Activity] += person.activities
        rows[Transition] += person.transitions
        state = person.state
        if state.current is not None:
            rows[Milestone].append(
                {
                    "subject_id": person.contact.pk,
                    "account_id": person.contact.account_id,
                    "current_stage_id": self.stages.get(state.current).id,
                    "current_since": state.current_since,
                    "first_entered": state.first_entered,
                    "entries": state.entries,
                    "reentry_count": state.reentry_count,
                    "transition_count": state.transition_count,
                    "last_hash": state.last_hash,
                }
            )
        rows[Handoff] += person.handoffs
        rows[Deal] += person.deals.values()
        rows[DealMove] += person.deal_moves
        rows[Subscription] += person.subscriptions.values()
        rows[SubscriptionChange] += person.changes
        rows[NpsResponse] += person.nps

    def result(self) -> ShardResult:
        self._finish_person()
        return ShardResult(
            shard=self.shard,
            people=self.people,
            rows=self.rows,
            pools_first_used=self.pools_first_used,
            assignments=self.assignments,
            rehash=self.rehash,
            customer_accounts=self.customer_accounts,
        )


@dataclass(frozen=True)
class _Actor:
    """Stands in for a user where only its presence is checked."""

    pk: int


class _Record:
    """A company as the rules read it, without a model instance's cost."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


CONTACT_DEFAULTS = {f.attname: f.get_default() for f in Contact._meta.concrete_fields}


class _PersonRecord(_Record):
    """A person with exactly the attributes of a new ``Contact`` row (its defaults included),
    plus the company it works at; a million of them must be cheap to make."""

    email_domain = property(Contact.email_domain.fget)  # type: ignore[attr-defined]

    def __init__(self, **values: Any) -> None:
        super().__init__(**{**CONTACT_DEFAULTS, **values})

    @property
    def pk(self) -> int:
        return self.id  # type: ignore[attr-defined, no-any-return]

    def row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in CONTACT_DEFAULTS}
