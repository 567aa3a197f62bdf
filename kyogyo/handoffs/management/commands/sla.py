"""kyogyo sla check: mark open handoffs past their due time as breached."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Count, Q
from django.utils import timezone

from kyogyo.handoffs.actions import mark_breaches
from kyogyo.handoffs.models import Handoff
from kyogyo.ops.moments import parse_moment


class Command(BaseCommand):
    help = "SLA commands. `kyogyo sla check` marks overdue open handoffs as breached and prints a summary."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        check = sub.add_parser("check", help="mark breaches now and summarise open handoffs per team")
        check.add_argument("--at", help="check as of this ISO date-time instead of now")
        check.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args, **options) -> None:
        now = parse_moment(options["at"]) if options.get("at") else timezone.now()
        marked = mark_breaches(now)
        rows = (
            Handoff.objects.filter(status=Handoff.Status.OPEN)
            .values("to_team__name")
            .annotate(open=Count("id"), overdue=Count("id", filter=Q(due_at__lt=now)))
            .order_by("to_team__name")
        )
        open_by_team = [
            {"team": r["to_team__name"], "open": r["open"], "overdue": r["overdue"]} for r in rows
        ]
        summary = {"newly_breached": marked, "open_by_team": open_by_team}
        if options["format"] == "json":
            self.stdout.write(json.dumps(summary, indent=2))
            return
        self.stdout.write(f"Newly breached: {marked}")
        for row in open_by_team:
            self.stdout.write(f"  {row['team']}: {row['open']} open, {row['overdue']} overdue")
