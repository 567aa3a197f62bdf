"""Deals (商談) and their pipeline stages."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from kyogyo.org.restricted import is_masked


class PipelineStage(models.Model):
    """A step inside the opportunity stage (discovery, proposal, ...); configurable."""

    key = models.SlugField(_("key"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_ja = models.CharField(_("Japanese name"), max_length=100, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    probability = models.PositiveSmallIntegerField(_("default probability %"), default=0)
    is_won = models.BooleanField(_("won"), default=False)
    is_lost = models.BooleanField(_("lost"), default=False)
    stall_days = models.PositiveIntegerField(
        _("stalled after (days)"),
        null=True,
        blank=True,
        default=30,
        help_text=_("Open deals in this stage longer than this are flagged as stalled; empty: never."),
    )

    class Meta:
        ordering = ["order"]
        verbose_name = _("pipeline stage")
        verbose_name_plural = _("pipeline stages")

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.is_won or self.is_lost


class Deal(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    name = models.CharField(_("name"), max_length=200)
    account = models.ForeignKey(
        "customers.Account",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="deals",
    )
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("primary contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
        help_text=_("The person whose journey this deal continues."),
    )
    amount = models.BigIntegerField(_("amount"), help_text=_("In minor units of the currency."))
    currency = models.CharField(_("currency"), max_length=3, default="JPY")
    pipeline_stage = models.ForeignKey(
        PipelineStage,
        verbose_name=_("pipeline stage"),
        on_delete=models.PROTECT,
        related_name="deals",
    )
    status = models.CharField(_("status"), max_length=5, choices=Status.choices, default=Status.OPEN)
    probability = models.PositiveSmallIntegerField(
        _("probability %"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(100)],
        help_text=_("Overrides the pipeline stage's default when set."),
    )
    expected_close = models.DateField(_("expected close"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
    )
    loss_reason = models.ForeignKey(
        "journey.ReasonCode",
        verbose_name=_("loss reason"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    campaign = models.ForeignKey(
        "marketing.Campaign",
        verbose_name=_("source campaign"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
    )
    created_at = models.DateTimeField(_("created at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    external_id = models.CharField(_("external id"), max_length=100, null=True, blank=True, unique=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    # Both may be empty on rows written in bulk (demo, imports): the board then counts the
    # time in stage from the deal's creation and shows no next step.
    stage_changed_at = models.DateTimeField(_("in this stage since"), null=True, blank=True)
    next_step = models.CharField(_("next step"), max_length=200, null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="deal_amount_not_negative"),
            models.CheckConstraint(
                condition=models.Q(probability__isnull=True) | models.Q(probability__lte=100),
                name="deal_probability_at_most_100",
            ),
        ]
        indexes = [
            # The board: each column's open deals, longest in the stage first; with the
            # amount and creation time, the columns' totals are read from the index alone.
            models.Index(
                fields=["status", "pipeline_stage", "stage_changed_at", "created_at", "amount"],
                name="deal_board_column",
            ),
            # The board's won and lost summary: deals closed in the last days.
            models.Index(
                fields=["status", "closed_at", "pipeline_stage", "amount"], name="deal_board_closed"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def effective_probability(self) -> int:
        if is_masked(self.probability):
            return self.probability  # type: ignore[return-value]  # restricted: stays hidden
        if self.probability is not None:
            return self.probability
        return self.pipeline_stage.probability

    @property
    def weighted_amount(self) -> float:
        if is_masked(self.amount) or is_masked(self.effective_probability):
            return self.amount if is_masked(self.amount) else self.effective_probability  # type: ignore[return-value]
        return self.amount * self.effective_probability / 100


class DealMove(models.Model):
    """One step of a deal through the pipeline (moved, won, lost), written by the deal
    actions: the history on the deal's page."""

    deal = models.ForeignKey(Deal, verbose_name=_("deal"), on_delete=models.CASCADE, related_name="moves")
    from_stage = models.ForeignKey(
        PipelineStage, verbose_name=_("from"), on_delete=models.PROTECT, related_name="+"
    )
    to_stage = models.ForeignKey(
        PipelineStage, verbose_name=_("to"), on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("deal move")
        verbose_name_plural = _("deal moves")
        indexes = [models.Index(fields=["deal", "-at"], name="deal_move_history")]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.from_stage_id} → {self.to_stage_id}"
