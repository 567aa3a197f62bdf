"""Campaigns and the activities (touches) that make up a person's engagement."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Campaign(models.Model):
    name = models.CharField(_("name"), max_length=200)
    channel = models.CharField(
        _("channel"),
        max_length=60,
        blank=True,
        help_text=_("Source channel, e.g. paid_search, event, referral."),
    )
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    external_id = models.CharField(_("external id"), max_length=100, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self) -> str:
        return self.name


class ActivityType(models.TextChoices):
    WEB_VISIT = "web_visit", _("Web visit")
    CONTENT_DOWNLOAD = "content_download", _("Content download")
    FORM_SUBMISSION = "form_submission", _("Form submission")
    EMAIL_OPEN = "email_open", _("Email open")
    EMAIL_CLICK = "email_click", _("Email click")
    EVENT = "event", _("Event")
    CALL = "call", _("Call")
    MEETING = "meeting", _("Meeting")
    DEMO = "demo", _("Demo")
    PRODUCT_USAGE = "product_usage", _("Product usage")
    SUPPORT_TICKET = "support_ticket", _("Support ticket")
    SURVEY_ANSWER = "survey_answer", _("Survey answer")
    NOTE = "note", _("Note")


class Activity(models.Model):
    """One touch. Append-only: activities are facts about the past."""

    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        related_name="activities",
        db_index=False,  # the (contact, type, occurred_at) index serves contact lookups
    )
    type = models.CharField(_("type"), max_length=20, choices=ActivityType.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    source = models.CharField(_("source"), max_length=60, blank=True)
    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    external_id = models.CharField(_("external id"), max_length=100, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["contact", "type", "occurred_at"])]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")

    def __str__(self) -> str:
        return f"{self.get_type_display()} @ {self.occurred_at:%Y-%m-%d}"
