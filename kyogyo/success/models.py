"""Subscriptions with their MRR change history, and NPS answers."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Subscription(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        CHURNED = "churned", _("Churned")

    class BillingPeriod(models.TextChoices):
        MONTHLY = "monthly", _("Monthly")
        ANNUAL = "annual", _("Annual")
        WEEKLY = "weekly", _("Weekly")

    account = models.ForeignKey(
        "customers.Account",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="subscriptions",
    )
    deal = models.ForeignKey(
        "deals.Deal",
        verbose_name=_("deal"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="subscriptions",
    )
    plan = models.CharField(_("plan"), max_length=100)
    mrr = models.BigIntegerField(_("MRR"), help_text=_("Monthly-normalised, in minor units."))
    currency = models.CharField(_("currency"), max_length=3, default="JPY")
    billing_period = models.CharField(
        _("billing period"),
        max_length=8,
        choices=BillingPeriod.choices,
        default=BillingPeriod.MONTHLY,
    )
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.ACTIVE)
    external_id = models.CharField(_("external id"), max_length=100, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-starts_on", "id"]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        constraints = [
            models.CheckConstraint(condition=models.Q(mrr__gte=0), name="subscription_mrr_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.account} — {self.plan}"


class SubscriptionChange(models.Model):
    """One MRR movement. Append-only history of a subscription."""

    class Kind(models.TextChoices):
        NEW = "new", _("New")
        EXPANSION = "expansion", _("Expansion")
        CONTRACTION = "contraction", _("Contraction")
        CHURN = "churn", _("Churn")
        REACTIVATION = "reactivation", _("Reactivation")

    subscription = models.ForeignKey(
        Subscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="changes",
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    occurred_on = models.DateField(_("occurred on"))
    mrr_before = models.BigIntegerField(_("MRR before"))
    mrr_after = models.BigIntegerField(_("MRR after"))

    class Meta:
        ordering = ["occurred_on", "id"]
        verbose_name = _("subscription change")
        verbose_name_plural = _("subscription changes")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_on:%Y-%m-%d}: {self.mrr_before} → {self.mrr_after}"

    @property
    def delta(self) -> int:
        return self.mrr_after - self.mrr_before


class NpsResponse(models.Model):
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        related_name="nps_responses",
    )
    account = models.ForeignKey(
        "customers.Account",
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="nps_responses",
    )
    score = models.PositiveSmallIntegerField(_("score (0–10)"))
    comment = models.TextField(_("comment"), blank=True)
    answered_at = models.DateTimeField(_("answered at"))

    class Meta:
        ordering = ["-answered_at"]
        verbose_name = _("NPS answer")
        verbose_name_plural = _("NPS answers")
        constraints = [
            models.CheckConstraint(condition=models.Q(score__lte=10), name="nps_score_0_10"),
        ]

    def __str__(self) -> str:
        return f"NPS {self.score} ({self.answered_at:%Y-%m-%d})"

    @property
    def category(self) -> str:
        if self.score >= 9:
            return "promoter"
        if self.score >= 7:
            return "passive"
        return "detractor"


class ExpansionHandback(models.Model):
    """An upsell or cross-sell Customer Success hands back to Field Sales: the handoff Field
    Sales accepts or rejects in their queue, and the expansion deal opened when they accept."""

    subscription = models.ForeignKey(
        Subscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="expansion_handbacks",
    )
    handoff = models.OneToOneField(
        "handoffs.Handoff", verbose_name=_("handoff"), on_delete=models.PROTECT, related_name="expansion"
    )
    amount = models.BigIntegerField(_("expected amount"), help_text=_("In minor units of the currency."))
    currency = models.CharField(_("currency"), max_length=3, default="JPY")
    note = models.TextField(_("note"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handed back by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"))
    deal = models.OneToOneField(
        "deals.Deal",
        verbose_name=_("expansion deal"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="expansion_handback",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("expansion hand-back")
        verbose_name_plural = _("expansion hand-backs")
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="expansion_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.subscription} → {self.handoff}"
