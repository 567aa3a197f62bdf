"""One run of an import: which file (by content hash), what kind, which mapping, and how
far it got. Progress and counts are saved in the same transaction as each batch of rows,
so a run that stops part-way resumes after its last committed batch."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ImportRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")

    kind = models.CharField(_("kind"), max_length=20)
    file_name = models.CharField(_("file name"), max_length=500)
    file_hash = models.CharField(_("file hash"), max_length=64, db_index=True)
    mapping = models.JSONField(_("mapping"))
    mapping_hash = models.CharField(_("mapping hash"), max_length=64)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    errors = models.PositiveIntegerField(_("errors"), default=0)
    error_file = models.CharField(_("error file"), max_length=500, blank=True)
    # Bytes of the error file that belong to committed batches; a resumed run truncates to it.
    error_file_size = models.PositiveBigIntegerField(default=0)
    # The process working on the run, so a second one on the same machine does not join in.
    host = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("import run")
        verbose_name_plural = _("import runs")

    def __str__(self) -> str:
        return f"{self.kind} {self.file_name} ({self.status})"

    def summary(self) -> dict[str, object]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors,
            "error_file": self.error_file or None,
        }


class ImportUpload(models.Model):
    """A file sent through the API to be imported in the background: what was asked, where
    the file is kept, how far the work got, and what it came to. The import itself is an
    ``ImportRun`` like any other, so an interrupted one resumes."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=20)
    preset = models.CharField(_("preset"), max_length=60, blank=True)
    mapping_text = models.TextField(_("mapping"), blank=True)
    dry_run = models.BooleanField(_("dry run"), default=False)
    file_name = models.CharField(_("file name"), max_length=255)
    stored_path = models.CharField(max_length=500)
    size = models.PositiveBigIntegerField(_("size"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    rows_total = models.PositiveIntegerField(_("rows in the file"), default=0)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("import upload")
        verbose_name_plural = _("import uploads")

    def __str__(self) -> str:
        return f"{self.kind} {self.file_name} ({self.status})"
