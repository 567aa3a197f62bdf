"""The stage playbook for where a person is: discovery questions, objection handling and the
exit checklist, with the checks ticked for this person since they entered the stage.

Ticking is a state change, so it is an action here (pages, API and CLI would call the same
one), asking ``org/access.py`` who may tick: the team working the person (or their owner,
or a manager) — the same people who may move them on."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import get_language

from kyogyo.customers.models import Contact
from kyogyo.journey.models import ChecklistTick, PlaybookItem, Stage
from kyogyo.journey.playbook_content import PLAYBOOK
from kyogyo.org import access
from kyogyo.org.models import User

CUSTOMER_PLAYBOOK = "customer"  # one playbook for every customer and outcome stage


class PlaybookError(ValueError):
    """A tick the playbook refuses; ``code`` is stable (see kyogyo/web/refusals.py)."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


def install_playbook() -> int:
    """The default playbooks, when there are none (the data migration does the same; this is
    for a database whose tables were emptied, as the tests' live server does)."""
    if PlaybookItem.objects.exists():
        return 0
    created = PlaybookItem.objects.bulk_create(
        PlaybookItem(stage=stage, kind=kind, text=text, text_ja=text_ja, order=order)
        for order, (stage, kind, text, text_ja) in enumerate(PLAYBOOK)
    )
    return len(created)


def playbook_key(stage: Stage) -> str:
    if stage.category in (Stage.Category.CUSTOMER, Stage.Category.OUTCOME):
        return CUSTOMER_PLAYBOOK
    return stage.key


def text_of(item: PlaybookItem) -> str:
    """The item in the reader's language (Japanese when reading Japanese and one is written)."""
    if (get_language() or "").startswith("ja") and item.text_ja:
        return item.text_ja
    return item.text


@dataclass(frozen=True)
class Check:
    item: PlaybookItem
    tick: ChecklistTick | None

    @property
    def done(self) -> bool:
        return self.tick is not None


@dataclass(frozen=True)
class Playbook:
    stage_key: str
    questions: list[PlaybookItem] = field(default_factory=list)
    objections: list[PlaybookItem] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.questions or self.objections or self.checks)

    @property
    def checks_done(self) -> int:
        return sum(1 for check in self.checks if check.done)

    @property
    def first_open_check(self) -> Check | None:
        return next((check for check in self.checks if not check.done), None)


def playbook_for(contact: Contact, stage: Stage | None, since: dt.datetime | None) -> Playbook:
    """The playbook of ``stage`` with this person's ticks since ``since`` (the entry into the
    stage: a person who comes back starts the checklist afresh). Two queries."""
    if stage is None:
        return Playbook(stage_key="")
    key = playbook_key(stage)
    items = list(PlaybookItem.objects.filter(stage=key, active=True).order_by("order", "id"))
    exit_ids = [item.pk for item in items if item.kind == PlaybookItem.Kind.EXIT]
    ticks = ChecklistTick.objects.filter(contact=contact, item_id__in=exit_ids).select_related("ticked_by")
    if since is not None:
        ticks = ticks.filter(ticked_at__gte=since)
    by_item = {tick.item_id: tick for tick in ticks} if exit_ids else {}
    return Playbook(
        stage_key=key,
        questions=[item for item in items if item.kind == PlaybookItem.Kind.QUESTION],
        objections=[item for item in items if item.kind == PlaybookItem.Kind.OBJECTION],
        checks=[Check(item, by_item.get(item.pk)) for item in items if item.kind == PlaybookItem.Kind.EXIT],
    )


def tick_check(
    contact: Contact, item: PlaybookItem, *, actor: User, done: bool = True, at: dt.datetime | None = None
) -> ChecklistTick | None:
    """Tick (or untick) one exit check for this person. A tick made before the person last
    entered their stage no longer counts, so ticking again replaces it."""
    if not access.can_change_contact(actor, contact):
        raise PlaybookError("forbidden", "only the team working this person, their owner or a manager ticks")
    if item.kind != PlaybookItem.Kind.EXIT or not item.active:
        raise PlaybookError("not_a_check", "only items of an exit checklist are ticked")
    at = at or timezone.now()
    with transaction.atomic():
        ChecklistTick.objects.filter(contact=contact, item=item).delete()
        if not done:
            return None
        try:
            with transaction.atomic():
                return ChecklistTick.objects.create(contact=contact, item=item, ticked_by=actor, ticked_at=at)
        except IntegrityError:  # a colleague ticked it in the same instant: theirs stands
            return ChecklistTick.objects.filter(contact=contact, item=item).first()
