"""Operational state that is not customer data: rate-limit counters."""

from __future__ import annotations

from django.db import models


class RateCounter(models.Model):
    """Hits of one key (``"api:token:12"``, ``"intake:form:contact-us:203.0.113.9"``) in one
    fixed window. Kept in the database so every server process shares the count, on SQLite
    as on PostgreSQL; old windows are swept by ``ratelimit.sweep``."""

    key = models.CharField(max_length=200)
    window_start = models.BigIntegerField(help_text="window start, in seconds since the epoch")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window_start"], name="ops_ratecounter_key_window")
        ]
        indexes = [models.Index(fields=["window_start"], name="ops_ratecounter_window")]

    def __str__(self) -> str:
        return f"{self.key} @ {self.window_start}: {self.count}"
