"""Health-check assessments: a dated, authored reading of the sheet, one mark (○ △ ×) and a
note per item, and the evidence the data showed when it was made. A new assessment is made
each time, so the history is the list of assessments."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Assessment(models.Model):
    assessed_on = models.DateField(_("assessed on"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    summary = models.TextField(_("summary"), blank=True)
    # What the data showed when the assessment was made (evidence.measure_all): kept with it,
    # so an old assessment is read against the figures its author saw.
    evidence = models.JSONField(_("evidence from the data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        ordering = ["-assessed_on", "-id"]
        verbose_name = _("health-check assessment")
        verbose_name_plural = _("health-check assessments")

    def __str__(self) -> str:
        return f"{self.assessed_on:%Y-%m-%d}"


class Mark(models.Model):
    class Value(models.TextChoices):
        DONE = "done", "○"
        PARTLY = "partly", "△"
        NOT_YET = "not_yet", "×"

    assessment = models.ForeignKey(
        Assessment, verbose_name=_("assessment"), on_delete=models.CASCADE, related_name="marks"
    )
    item = models.CharField(_("item"), max_length=60)  # a key of sheet.yaml, e.g. "kpi.linked"
    value = models.CharField(_("mark"), max_length=8, choices=Value.choices)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["assessment", "item"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "item"], name="healthcheck_mark_item_unique")
        ]
        verbose_name = _("mark")
        verbose_name_plural = _("marks")

    def __str__(self) -> str:
        return f"{self.item}: {self.get_value_display()}"
