"""Outbound webhooks: the endpoints that subscribe to events, and every delivery attempt
made to them (the delivery log)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Endpoint(models.Model):
    """A URL that receives the events it subscribes to, signed with its secret."""

    url = models.URLField("URL", max_length=500)
    secret = models.CharField("secret", max_length=128)
    events = models.JSONField("event types", default=list, help_text='Event types; ["*"] for all.')
    active = models.BooleanField("active", default=True)
    description = models.CharField("description", max_length=200, blank=True)
    created_at = models.DateTimeField("created at", default=timezone.now)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return "*" in self.events or event_type in self.events


class Delivery(models.Model):
    """One event for one endpoint: its body, the attempts made and their outcome."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    endpoint = models.ForeignKey(
        Endpoint, verbose_name="endpoint", on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.UUIDField("event id", db_index=True)
    event_type = models.CharField("event type", max_length=40)
    body = models.TextField("body", help_text="The JSON sent, byte for byte (what the signature covers).")
    created_at = models.DateTimeField("created at", default=timezone.now)
    status = models.CharField("status", max_length=9, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField("attempts", default=0)
    next_attempt_at = models.DateTimeField("next attempt at", null=True, blank=True)
    last_attempt_at = models.DateTimeField("last attempt at", null=True, blank=True)
    response_code = models.PositiveSmallIntegerField("response code", null=True, blank=True)
    response_ms = models.PositiveIntegerField("response time (ms)", null=True, blank=True)
    error = models.TextField("error", blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due")]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"
