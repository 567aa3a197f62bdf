"""kyogyo worker: run the background worker (scheduled SLA checks and rule runs)."""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the background worker: scheduled SLA checks and stage-rule runs, on the database (no broker)."

    def handle(self, *args, **options) -> None:
        call_command("qcluster")
