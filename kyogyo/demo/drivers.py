"""The action driver: the demo story told through the real actions, one call at a time."""

from __future__ import annotations

import datetime as dt

from kyogyo.customers import actions as customer_actions
from kyogyo.customers.models import Account, Contact
from kyogyo.deals import actions as deal_actions
from kyogyo.deals.models import Deal, PipelineStage
from kyogyo.demo.scenario import AccountSpec, HandoffView, PersonSpec
from kyogyo.handoffs import actions as handoff_actions
from kyogyo.handoffs.models import Handoff
from kyogyo.journey import actions as journey_actions
from kyogyo.journey import rulebook
from kyogyo.journey.models import Milestone, ReasonCode, Transition
from kyogyo.marketing.actions import ActivityInput, record_activities
from kyogyo.org.models import User
from kyogyo.success import actions as success_actions
from kyogyo.success.models import Subscription


class ActionDriver:
    def __init__(self) -> None:
        self.book = rulebook.load()
        self.stages = self.book.stages
        self.calendar = handoff_actions.load_calendar()
        self.users = User.objects.in_bulk()
        self.reasons = {(r.kind, r.key): r for r in ReasonCode.objects.all()}
        self.pipeline = {p.key: p for p in PipelineStage.objects.all()}

    def _contact(self, contact_id: int) -> Contact:
        return Contact.objects.select_related("account").get(pk=contact_id)

    def account(self, spec: AccountSpec, at: dt.datetime) -> int:
        return customer_actions.create_account(
            at=at,
            name=spec.name,
            domain=spec.domain,
            industry=spec.industry,
            employee_count=spec.employee_count,
            country=spec.country,
            segment=spec.segment,
            kind=spec.kind,
        ).pk

    def contact(self, spec: PersonSpec, account_id: int | None, at: dt.datetime) -> int:
        account = Account.objects.get(pk=account_id) if account_id else None
        return customer_actions.create_contact(
            at=at,
            book=self.book,
            account=account,
            email=spec.email,
            first_name=spec.first_name,
            last_name=spec.last_name,
            title=spec.title,
            source=spec.source,
            consent=Contact.Consent.GRANTED,
        ).pk

    def activity(
        self, contact_id: int, type: str, at: dt.datetime, campaign_id: int | None, source: str, payload: dict
    ) -> None:
        result = record_activities(
            [ActivityInput(contact_id, type, at, source=source, campaign_id=campaign_id, payload=payload)],
            book=self.book,
            now=at,
        )
        if result.errors:
            raise ValueError(result.errors)

    def tick(self, contact_id: int, at: dt.datetime) -> None:
        journey_actions.apply_rules([self._contact(contact_id)], at=at, book=self.book)

    def stage(self, contact_id: int) -> str | None:
        milestone = Milestone.objects.filter(pk=contact_id).only("current_stage_id").first()
        return self.stages.by_id[milestone.current_stage_id].key if milestone else None

    def _handoff(self, contact_id: int) -> Handoff | None:
        return Handoff.objects.filter(subject_id=contact_id, status=Handoff.Status.OPEN).first()

    def open_handoff(self, contact_id: int) -> HandoffView | None:
        handoff = self._handoff(contact_id)
        return HandoffView(handoff.assigned_to_id, handoff.due_at) if handoff else None

    def accept(self, contact_id: int, actor_id: int, at: dt.datetime) -> None:
        handoff = self._handoff(contact_id)
        assert handoff is not None
        handoff_actions.accept_handoff(handoff, actor=self.users[actor_id], at=at, stages=self.stages)

    def reject(self, contact_id: int, actor_id: int, reason: str, at: dt.datetime) -> None:
        handoff = self._handoff(contact_id)
        assert handoff is not None
        handoff_actions.reject_handoff(
            handoff,
            actor=self.users[actor_id],
            reason=self.reasons[("reject", reason)],
            at=at,
            stages=self.stages,
        )

    def move(self, contact_id: int, stage: str, actor_id: int, at: dt.datetime) -> None:
        journey_actions.advance(
            self._contact(contact_id),
            stage,
            via=Transition.Via.USER,
            at=at,
            actor=self.users[actor_id],
            stages=self.stages,
        )

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
        deal = deal_actions.qualify(
            self._contact(contact_id),
            actor=self.users[actor_id],
            name=name,
            amount=amount,
            expected_close=expected_close,
            at=at,
            campaign_id=campaign_id,
        )
        return deal.pk, deal.owner_id

    def move_deal(self, deal_id: int, pipeline_stage: str, actor_id: int | None, at: dt.datetime) -> None:
        deal_actions.move_deal(
            Deal.objects.get(pk=deal_id),
            self.pipeline[pipeline_stage],
            actor=self.users[actor_id] if actor_id else None,
            at=at,
        )

    def win(self, deal_id: int, actor_id: int | None, at: dt.datetime) -> None:
        deal_actions.win_deal(
            Deal.objects.get(pk=deal_id), actor=self.users[actor_id] if actor_id else None, at=at
        )

    def lose(self, deal_id: int, actor_id: int | None, reason: str, at: dt.datetime) -> None:
        deal_actions.lose_deal(
            Deal.objects.get(pk=deal_id),
            actor=self.users[actor_id] if actor_id else None,
            reason=self.reasons[("loss", reason)],
            at=at,
        )

    def subscribe(self, account_id: int, deal_id: int, plan: str, mrr: int, on: dt.date) -> int:
        return success_actions.start_subscription(
            Account.objects.get(pk=account_id),
            plan=plan,
            mrr=mrr,
            starts_on=on,
            deal=Deal.objects.get(pk=deal_id),
        ).pk

    def change_mrr(self, subscription_id: int, mrr: int, on: dt.date, contact_id: int) -> None:
        success_actions.change_mrr(
            Subscription.objects.get(pk=subscription_id), mrr, on=on, subject=self._contact(contact_id)
        )

    def renew(self, subscription_id: int, on: dt.date, contact_id: int) -> None:
        success_actions.renew(
            Subscription.objects.get(pk=subscription_id), on=on, subject=self._contact(contact_id)
        )

    def churn(self, subscription_id: int, on: dt.date, contact_id: int) -> None:
        success_actions.churn(
            Subscription.objects.get(pk=subscription_id), on=on, subject=self._contact(contact_id)
        )

    def nps(self, contact_id: int, score: int, comment: str, at: dt.datetime) -> None:
        success_actions.record_nps(self._contact(contact_id), score, comment=comment, at=at)

    def finish(self, now: dt.datetime) -> None:
        handoff_actions.mark_breaches(now)
