"""The journey: configurable stages, reason codes, versioned stage rules, the
append-only transition log and the per-subject milestones row kept with it.

The subject of a journey is a person (``customers.Contact``); the account
(buying-group) view is derived by grouping subjects by their account.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class Stage(models.Model):
    class Category(models.TextChoices):
        PROSPECT = "prospect", _("Prospect")
        CUSTOMER = "customer", _("Customer")
        OUTCOME = "outcome", _("Outcome")
        RECYCLE = "recycle", _("Recycle (nurture)")
        EXIT = "exit", _("Exit (disqualified)")

    key = models.SlugField(_("key"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_ja = models.CharField(_("Japanese name"), max_length=100, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    category = models.CharField(_("category"), max_length=10, choices=Category.choices)
    team = models.ForeignKey(
        "org.Team",
        verbose_name=_("owning team"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="stages",
    )
    hands_to = models.ForeignKey(
        "org.Team",
        verbose_name=_("hands on to"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="incoming_stages",
        help_text=_("Entering this stage creates a handoff to this team."),
    )
    accept_to = models.ForeignKey(
        "self",
        verbose_name=_("on accept, move to"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    sla_hours = models.PositiveIntegerField(
        _("SLA (business hours)"),
        null=True,
        blank=True,
        help_text=_("Time the receiving team has to act on the handoff."),
    )
    stall_days = models.PositiveIntegerField(
        _("stalled after (days)"),
        null=True,
        blank=True,
        help_text=_("Subjects in this stage longer than this are flagged as stalled."),
    )
    meaning = models.TextField(_("meaning"), blank=True)
    meaning_ja = models.TextField(_("meaning (Japanese)"), blank=True)
    is_entry = models.BooleanField(
        _("entry stage"),
        default=False,
        help_text=_("A journey may start here (first touch)."),
    )
    exits = models.ManyToManyField(
        "self",
        verbose_name=_("allowed exits"),
        symmetrical=False,
        blank=True,
        related_name="entries",
    )

    class Meta:
        ordering = ["order", "key"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")

    def __str__(self) -> str:
        return self.name

    @classmethod
    def ids_where(cls, **lookup: object) -> list[int]:
        """The ids of the stages matching ``lookup`` (``key="mql"``, ``team__key=…``), to filter
        a large table by its stage column rather than through a join on the key: with the id
        PostgreSQL knows each stage's share from its statistics. Joined on the key it guessed a
        fourteenth of 1,000,000 people in MQL where one was, and read everyone to find them."""
        return list(cls.objects.filter(**lookup).values_list("id", flat=True))

    def clean(self) -> None:
        if self.hands_to_id and not self.accept_to_id:
            raise ValidationError({"accept_to": _("A handoff stage needs the stage to move to on accept.")})
        if self.hands_to_id and not self.sla_hours:
            raise ValidationError({"sla_hours": _("A handoff stage needs an SLA.")})


class ReasonCode(models.Model):
    """Configurable reasons for rejecting a handoff, disqualifying a lead, losing a deal."""

    class Kind(models.TextChoices):
        REJECT = "reject", _("Handoff reject")
        DISQUALIFY = "disqualify", _("Disqualify")
        LOSS = "loss", _("Deal loss")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    key = models.SlugField(_("key"), max_length=40)
    label = models.CharField(_("label"), max_length=150)
    label_ja = models.CharField(_("Japanese label"), max_length=150, blank=True)
    sends_to = models.ForeignKey(
        Stage,
        verbose_name=_("sends the subject to"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("For rejects: nurture, disqualified, or empty for back to the sender."),
    )
    active = models.BooleanField(_("active"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["kind", "order", "key"]
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="reason_kind_key_unique")]
        verbose_name = _("reason code")
        verbose_name_plural = _("reason codes")

    def __str__(self) -> str:
        return self.label


class ValueList(models.Model):
    """A named list rules can test against, e.g. free-mail or competitor domains."""

    key = models.SlugField(_("key"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    values = models.JSONField(_("values"), default=list)

    class Meta:
        ordering = ["key"]
        verbose_name = _("value list")
        verbose_name_plural = _("value lists")

    def __str__(self) -> str:
        return self.name


class Rule(models.Model):
    """An objective entry criterion for a stage. Its definition lives in immutable versions."""

    key = models.SlugField(_("key"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=150)
    stage = models.ForeignKey(
        Stage,
        verbose_name=_("moves subjects to"),
        on_delete=models.PROTECT,
        related_name="rules",
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"),
        default=100,
        help_text=_("Lower runs first; the first matching rule wins."),
    )
    active = models.BooleanField(_("active"), default=True)
    current_version = models.ForeignKey(
        "RuleVersion",
        verbose_name=_("current version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["priority", "key"]
        verbose_name = _("stage rule")
        verbose_name_plural = _("stage rules")

    def __str__(self) -> str:
        return self.name


class RuleVersion(models.Model):
    """One immutable version of a rule: which stages it applies from, when, and why."""

    rule = models.ForeignKey(Rule, verbose_name=_("rule"), on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    from_stages = models.JSONField(_("applies to subjects in"), default=list)
    definition = models.JSONField(_("condition"))
    reason = models.ForeignKey(
        ReasonCode,
        verbose_name=_("reason"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.TextField(_("change note"), blank=True)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["rule", "number"]
        constraints = [models.UniqueConstraint(fields=["rule", "number"], name="rule_version_unique")]
        verbose_name = _("rule version")
        verbose_name_plural = _("rule versions")

    def __str__(self) -> str:
        return f"{self.rule.key} v{self.number}"


class Transition(models.Model):
    """One stage change of one subject. Append-only: never updated, never deleted.

    Rows of a subject form a hash chain (``hash`` covers the previous row's hash),
    so ``kyogyo check`` can prove the log was not edited or cut.
    """

    class Via(models.TextChoices):
        USER = "user", _("User")
        RULE = "rule", _("Rule")
        HANDOFF = "handoff", _("Handoff")
        IMPORT = "import", _("Import")
        SYSTEM = "system", _("System")

    subject = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("subject"),
        on_delete=models.PROTECT,
        related_name="transitions",
        db_index=False,  # the unique (subject, seq) index serves subject lookups
    )
    seq = models.PositiveIntegerField(_("sequence"))
    from_stage = models.ForeignKey(
        Stage,
        verbose_name=_("from"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # a handful of stages: a per-row index would only slow the log's appends
    )
    to_stage = models.ForeignKey(
        Stage,
        verbose_name=_("to"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # the (to_stage, at) index serves stage lookups
    )
    at = models.DateTimeField(_("at"))
    via = models.CharField(_("via"), max_length=8, choices=Via.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    rule_version = models.ForeignKey(
        RuleVersion,
        verbose_name=_("rule version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transitions",
    )
    reason = models.ForeignKey(
        ReasonCode,
        verbose_name=_("reason"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.TextField(_("note"), blank=True)
    is_reentry = models.BooleanField(_("re-entry"), default=False)
    hash = models.CharField(_("chain hash"), max_length=32)

    class Meta:
        ordering = ["subject", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["subject", "seq"], name="transition_subject_seq_unique"),
            models.CheckConstraint(
                condition=~models.Q(via="rule") | models.Q(rule_version__isnull=False),
                name="transition_rule_has_version",
            ),
            models.CheckConstraint(
                condition=~models.Q(via="user") | models.Q(actor__isnull=False),
                name="transition_user_has_actor",
            ),
        ]
        indexes = [models.Index(fields=["to_stage", "at"])]
        verbose_name = _("transition")
        verbose_name_plural = _("transitions")

    def __str__(self) -> str:
        return f"{self.subject_id}: {self.from_stage_id} → {self.to_stage_id} @ {self.at:%Y-%m-%d}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValidationError(_("Transitions are append-only and cannot be changed."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[override]
        raise ValidationError(_("Transitions are append-only and cannot be deleted."))


class Milestone(models.Model):
    """Per-subject summary of the log, written in the same transaction as each transition.

    ``first_entered`` maps stage key → ISO time of first entry; ``entries`` maps
    stage key → number of entries (so re-entries = entries − 1).
    """

    subject = models.OneToOneField(
        "customers.Contact",
        verbose_name=_("subject"),
        primary_key=True,
        on_delete=models.PROTECT,
        related_name="milestone",
    )
    account = models.ForeignKey(
        "customers.Account",
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    current_stage = models.ForeignKey(
        Stage,
        verbose_name=_("current stage"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # the (current_stage, current_since) index serves stage lookups
    )
    current_since = models.DateTimeField(_("in current stage since"))
    first_entered = models.JSONField(_("first entered"), default=dict)
    entries = models.JSONField(_("entries per stage"), default=dict)
    reentry_count = models.PositiveIntegerField(_("re-entries"), default=0)
    transition_count = models.PositiveIntegerField(_("transitions"), default=0)
    last_hash = models.CharField(_("last chain hash"), max_length=32)

    class Meta:
        indexes = [models.Index(fields=["current_stage", "current_since"])]
        verbose_name = _("milestones")
        verbose_name_plural = _("milestones")

    def __str__(self) -> str:
        return f"{self.subject_id}: {self.current_stage_id} since {self.current_since:%Y-%m-%d}"


class PlaybookItem(models.Model):
    """One line of a stage's playbook: a discovery question, an objection with its answer,
    or a check of the exit checklist. Keyed by stage key (stages are configuration), with
    ``customer`` standing for every customer and outcome stage."""

    class Kind(models.TextChoices):
        QUESTION = "question", _("Discovery question")
        OBJECTION = "objection", _("Objection handling")
        EXIT = "exit", _("Exit checklist")

    stage = models.SlugField(_("stage key"), max_length=40)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    text = models.TextField(_("text"))
    text_ja = models.TextField(_("Japanese text"), blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["stage", "kind", "order", "id"]
        indexes = [models.Index(fields=["stage", "kind", "order"], name="playbook_stage_kind")]
        verbose_name = _("playbook item")
        verbose_name_plural = _("playbook items")

    def __str__(self) -> str:
        return f"{self.stage}/{self.kind}: {self.text[:40]}"


class ChecklistTick(models.Model):
    """A check of a stage's exit checklist done for one person, by the team working them."""

    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        related_name="checklist_ticks",
        db_index=False,  # the unique (contact, item) constraint serves contact lookups
    )
    item = models.ForeignKey(
        PlaybookItem, verbose_name=_("checklist item"), on_delete=models.CASCADE, related_name="ticks"
    )
    ticked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("ticked by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    ticked_at = models.DateTimeField(_("ticked at"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contact", "item"], name="checklist_tick_unique")]
        verbose_name = _("checklist tick")
        verbose_name_plural = _("checklist ticks")

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.item_id} @ {self.ticked_at:%Y-%m-%d}"
