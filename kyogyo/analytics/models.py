"""Inputs and settings of the analytics: what the metrics need besides the operational
records (spend for CAC, targets for the KPI tree, saved plans, bands, health signals),
and the change log that lets the snapshot refresh incrementally."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

DEFAULT_DEAL_SIZE_EDGES = [1_000_000, 5_000_000, 20_000_000]
DEFAULT_COMPANY_SIZE_EDGES = [50, 300, 1000]
DEFAULT_HEALTH_SIGNALS = [
    # key, weight, what counts as fully healthy (see docs/analytics.md, "Health score")
    {"key": "usage", "weight": 40, "target": 20},
    {"key": "nps", "weight": 20, "target": 9},
    {"key": "support", "weight": 15, "target": 0},
    {"key": "engagement", "weight": 15, "target": 4},
    {"key": "mrr_trend", "weight": 10, "target": 0},
]


def _check_edges(value: object, field: str) -> None:
    if not isinstance(value, list) or not all(isinstance(v, int) and v > 0 for v in value):
        raise ValidationError({field: _("Band edges must be a list of positive whole numbers.")})
    if sorted(set(value)) != value:
        raise ValidationError({field: _("Band edges must be strictly increasing.")})


class AnalyticsSettings(models.Model):
    """One row (pk=1): the company-wide choices the metrics depend on."""

    fiscal_year_start_month = models.PositiveSmallIntegerField(
        _("fiscal year starts in month"),
        default=4,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
        help_text=_("1 = January … 12 = December; many Japanese companies start in April."),
    )
    small_denominator = models.PositiveIntegerField(
        _("small denominator"),
        default=30,
        help_text=_("Rates over fewer subjects than this are flagged as small samples."),
    )
    deal_size_edges = models.JSONField(
        _("deal-size band edges"),
        default=list,
        help_text=_("Increasing amounts in minor units, e.g. [1000000, 5000000]."),
    )
    company_size_edges = models.JSONField(
        _("company-size band edges"),
        default=list,
        help_text=_("Increasing employee counts, e.g. [50, 300, 1000]."),
    )
    gross_margin_percent = models.PositiveSmallIntegerField(
        _("gross margin %"), default=80, validators=[MaxValueValidator(100)]
    )
    benchmarks = models.JSONField(
        _("benchmark conversion rates"),
        default=dict,
        blank=True,
        help_text=_('Target conversion per step, e.g. {"mql:sal": 0.8}.'),
    )
    health_signals = models.JSONField(_("health score signals"), default=list)
    inside_sales_max_cycle_days = models.PositiveIntegerField(
        _("Inside Sales closes alone up to (cycle days)"),
        default=30,
        help_text=_("Bands with a median cycle at most this long and a good win rate need no field visit."),
    )
    inside_sales_min_win_rate = models.PositiveSmallIntegerField(
        _("… and a win rate of at least %"), default=25, validators=[MaxValueValidator(100)]
    )

    class Meta:
        verbose_name = _("analytics settings")
        verbose_name_plural = _("analytics settings")

    def __str__(self) -> str:
        return str(_("Analytics settings"))

    def clean(self) -> None:
        _check_edges(self.deal_size_edges, "deal_size_edges")
        _check_edges(self.company_size_edges, "company_size_edges")

    @classmethod
    def load(cls) -> AnalyticsSettings:
        found: AnalyticsSettings = cls.objects.filter(pk=1).first() or cls(pk=1)
        if not found.deal_size_edges:
            found.deal_size_edges = list(DEFAULT_DEAL_SIZE_EDGES)
        if not found.company_size_edges:
            found.company_size_edges = list(DEFAULT_COMPANY_SIZE_EDGES)
        if not found.health_signals:
            found.health_signals = [dict(s) for s in DEFAULT_HEALTH_SIGNALS]
        return found


class Spend(models.Model):
    """Sales and marketing spend of one team in one month: the input to CAC, payback and
    the magic number."""

    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    team = models.ForeignKey("org.Team", verbose_name=_("team"), on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField(_("amount"), help_text=_("In minor units of the currency."))
    currency = models.CharField(_("currency"), max_length=3, default="JPY")
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["month", "team"]
        constraints = [
            models.UniqueConstraint(fields=["month", "team"], name="spend_month_team_unique"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="spend_amount_not_negative"),
        ]
        verbose_name = _("spend")
        verbose_name_plural = _("spend")

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.team}: {self.amount}"

    def clean(self) -> None:
        if self.month and self.month.day != 1:
            raise ValidationError({"month": _("Use the first day of the month.")})


class Target(models.Model):
    """A target for one KPI (the company's revenue, a team's MQLs, …) over a period."""

    metric = models.CharField(
        _("KPI"),
        max_length=40,
        help_text=_("revenue, new_mrr, wins, or entered:<stage key>, e.g. entered:mql."),
    )
    team = models.ForeignKey(
        "org.Team", verbose_name=_("team"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    value = models.FloatField(_("target"))

    class Meta:
        ordering = ["starts_on", "metric"]
        verbose_name = _("target")
        verbose_name_plural = _("targets")

    def __str__(self) -> str:
        return f"{self.metric} {self.starts_on:%Y-%m-%d}–{self.ends_on:%Y-%m-%d}: {self.value}"

    def clean(self) -> None:
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": _("The period ends before it starts.")})


class SavedPlan(models.Model):
    """A backwards plan as it was computed: its inputs and its result, to compare with actuals."""

    name = models.CharField(_("name"), max_length=150)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    target = models.BigIntegerField(_("revenue target"))
    inputs = models.JSONField(_("assumptions"), default=dict)
    result = models.JSONField(_("result"), default=dict)
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
        ordering = ["-created_at"]
        verbose_name = _("saved plan")
        verbose_name_plural = _("saved plans")

    def __str__(self) -> str:
        return self.name


class SnapshotChange(models.Model):
    """A row of an operational table that was updated or deleted, written by database
    triggers (so every write path is seen). The snapshot refresh reads and then removes
    them; new rows are found by id instead."""

    table = models.CharField(max_length=40)
    row_id = models.BigIntegerField()

    class Meta:
        verbose_name = _("snapshot change")
        verbose_name_plural = _("snapshot changes")

    def __str__(self) -> str:
        return f"{self.table}#{self.row_id}"
