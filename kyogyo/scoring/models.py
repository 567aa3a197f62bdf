"""Configuration of the fit score (rules on attributes) and the engagement score
(weighted activities with half-life decay)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class ScoringSettings(models.Model):
    """One row (pk=1)."""

    half_life_days = models.FloatField(_("engagement half-life (days)"), default=30.0)

    class Meta:
        verbose_name = _("scoring settings")
        verbose_name_plural = _("scoring settings")

    def __str__(self) -> str:
        return str(_("Scoring settings"))


class FitRule(models.Model):
    """Points added to the fit score when a condition on the person/company holds."""

    label = models.CharField(_("label"), max_length=150)
    label_ja = models.CharField(_("Japanese label"), max_length=150, blank=True)
    condition = models.JSONField(_("condition"))
    points = models.SmallIntegerField(_("points"))
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("fit rule")
        verbose_name_plural = _("fit rules")

    def __str__(self) -> str:
        return self.label

    def clean(self) -> None:
        from kyogyo.journey.criteria import validate

        problems = validate(self.condition)
        if problems:
            raise ValidationError({"condition": [str(p) for p in problems]})


class EngagementWeight(models.Model):
    activity_type = models.CharField(_("activity type"), max_length=20, unique=True)
    points = models.FloatField(_("points"))

    class Meta:
        ordering = ["activity_type"]
        verbose_name = _("engagement weight")
        verbose_name_plural = _("engagement weights")

    def __str__(self) -> str:
        return f"{self.activity_type}: {self.points}"
