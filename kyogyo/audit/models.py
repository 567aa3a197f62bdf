"""The history of every tracked record: one row per create, update and delete, written by
database triggers (``kyogyo/audit/triggers.py``), never by application code."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Change(models.Model):
    class Operation(models.TextChoices):
        CREATE = "create", _("created")
        UPDATE = "update", _("changed")
        DELETE = "delete", _("deleted")

    class Path(models.TextChoices):
        UI = "ui", _("web app")
        API = "api", _("API")
        ADMIN = "admin", _("admin")
        INTAKE = "intake", _("web form or inbound webhook")
        CLI = "cli", _("command line")
        IMPORT = "import", _("import")
        BULK = "bulk", _("bulk action")
        RULE = "rule", _("journey rules")
        JOB = "job", _("scheduled job")
        SYSTEM = "system", _("system")

    at = models.DateTimeField(_("at"))
    model = models.CharField(_("record type"), max_length=60)
    object_id = models.CharField(_("record"), max_length=64)
    operation = models.CharField(_("operation"), max_length=8, choices=Operation.choices)
    # {field: [from, to]} of the recorded columns that changed (all of them on create/delete).
    changes = models.JSONField(_("changes"), default=dict)
    # The user, kept as a plain id: a history outlives the accounts it names.
    actor_id = models.BigIntegerField(_("by"), null=True, blank=True)
    path = models.CharField(_("through"), max_length=16, choices=Path.choices)
    label = models.CharField(_("detail"), max_length=200, blank=True)
    redacted = models.BooleanField(_("personal data erased"), default=False)

    class Meta:
        verbose_name = _("change")
        verbose_name_plural = _("history")
        indexes = [models.Index(fields=["model", "object_id", "id"], name="audit_change_record")]

    def __str__(self) -> str:
        return f"{self.model} {self.object_id} {self.operation} at {self.at}"

    @property
    def actor(self):
        if self.actor_id is None:
            return None
        from django.contrib.auth import get_user_model

        return get_user_model().objects.filter(pk=self.actor_id).first()
