"""Handoffs as contracts between teams, the business calendar behind their SLAs,
and the routing rules that assign them."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class BusinessCalendar(models.Model):
    """Working days, hours and holidays that SLA clocks run on (one row, pk=1)."""

    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Tokyo")
    weekdays = models.JSONField(
        _("working weekdays"),
        default=list,
        help_text=_("0 = Monday … 6 = Sunday."),
    )
    day_start = models.TimeField(_("day starts"), default=dt.time(9, 0))
    day_end = models.TimeField(_("day ends"), default=dt.time(18, 0))
    holiday_country = models.CharField(
        _("public holidays of"),
        max_length=8,
        blank=True,
        default="JP",
        help_text=_("ISO country code for public holidays; empty for none."),
    )

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendar")

    def __str__(self) -> str:
        return str(_("Business calendar"))


class CalendarException(models.Model):
    """A company holiday (e.g. 年末年始) or an extra working day."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="exceptions")
    date = models.DateField(_("date"))
    is_working = models.BooleanField(_("working day"), default=False)
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="calendar_date_unique")]
        verbose_name = _("calendar exception")
        verbose_name_plural = _("calendar exceptions")

    def __str__(self) -> str:
        kind = _("working day") if self.is_working else _("closed")
        return f"{self.date:%Y-%m-%d} ({kind}) {self.name}".strip()


class RoutingRule(models.Model):
    """Who receives handoffs to a team: round-robin over a pool, optionally only
    for subjects matching a condition (segment/coverage rules). Lowest priority first;
    with no matching rule, round-robin over the whole team."""

    team = models.ForeignKey(
        "org.Team", verbose_name=_("team"), on_delete=models.CASCADE, related_name="routing_rules"
    )
    name = models.CharField(_("name"), max_length=100)
    priority = models.PositiveSmallIntegerField(_("priority"), default=100)
    condition = models.JSONField(_("condition"), null=True, blank=True)
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("pool"), related_name="+")
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["team", "priority", "id"]
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from kyogyo.journey.criteria import validate

        if self.condition is not None:
            problems = validate(self.condition)
            if problems:
                raise ValidationError({"condition": [str(p) for p in problems]})


class RoutingCursor(models.Model):
    """Round-robin position per pool (a team or a routing rule), locked while assigning."""

    pool = models.CharField(max_length=60, unique=True)
    last_user_id = models.BigIntegerField(null=True)

    def __str__(self) -> str:
        return f"{self.pool} → {self.last_user_id}"


class Handoff(models.Model):
    """A subject crossing to another team: due in business hours, accepted or rejected."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")

    transition = models.OneToOneField(
        "journey.Transition",
        verbose_name=_("created by transition"),
        on_delete=models.PROTECT,
        related_name="handoff",
    )
    subject = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("subject"),
        on_delete=models.PROTECT,
        related_name="handoffs",
    )
    stage = models.ForeignKey(
        "journey.Stage", verbose_name=_("stage"), on_delete=models.PROTECT, related_name="+"
    )
    from_team = models.ForeignKey(
        "org.Team", verbose_name=_("from team"), on_delete=models.PROTECT, related_name="+"
    )
    to_team = models.ForeignKey(
        "org.Team", verbose_name=_("to team"), on_delete=models.PROTECT, related_name="+"
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="handoffs",
    )
    created_at = models.DateTimeField(_("created at"))
    due_at = models.DateTimeField(_("due at"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    acted_at = models.DateTimeField(_("acted at"), null=True, blank=True)
    acted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.ForeignKey(
        "journey.ReasonCode",
        verbose_name=_("reject reason"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.TextField(_("note"), blank=True)
    breached_at = models.DateTimeField(_("SLA breached at"), null=True, blank=True)
    resolution = models.OneToOneField(
        "journey.Transition",
        verbose_name=_("resolved by transition"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="resolved_handoff",
    )

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["status", "due_at"]),
            models.Index(fields=["to_team", "status"]),
        ]
        verbose_name = _("handoff")
        verbose_name_plural = _("handoffs")

    def __str__(self) -> str:
        return f"{self.subject} → {self.to_team} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN
