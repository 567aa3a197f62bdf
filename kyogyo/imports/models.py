"""One run of an import: which file (by content hash), what kind, which mapping, and how
far it got. Progress and counts are saved in the same transaction as each batch of rows,
so a run that stops part-way resumes after its last committed batch."""

from __future__ import annotations

from django.db import models
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
