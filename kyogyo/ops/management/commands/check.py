"""kyogyo check: Django's system checks, then the journey's invariants on the data."""

from __future__ import annotations

import json

from django.core.management.base import CommandError, CommandParser
from django.core.management.commands.check import Command as SystemCheckCommand

from kyogyo.ops import invariants
from kyogyo.ops.progress import reporter


class Command(SystemCheckCommand):
    help = (
        "Run Django's system checks (all their options work, e.g. --deploy), then verify the "
        "journey's invariants on the configured database: the log is append-only (unbroken hash "
        "chain), milestones equal what the log implies, time never goes backwards in a journey, "
        "every cross-team transition has exactly one handoff, and every subject is in exactly one "
        "stage. Exits non-zero on any violation."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--system-only", action="store_true", help="run only Django's system checks")
        parser.add_argument("--format", choices=["text", "json"], default="text", help="output format")

    def handle(self, *app_labels, **options) -> None:
        if options["format"] == "json":
            # stdout carries only the JSON report; the system checks' words go to stderr
            stdout, self.stdout = self.stdout, self.stderr
            try:
                super().handle(*app_labels, **options)
            finally:
                self.stdout = stdout
        else:
            super().handle(*app_labels, **options)
        if options["system_only"]:
            return
        progress = (
            reporter("checking subjects") if options["verbosity"] and options["format"] == "text" else None
        )
        report = invariants.check(progress=progress)
        if options["format"] == "json":
            self.stdout.write(
                json.dumps(
                    {
                        "ok": report.ok,
                        "subjects": report.subjects,
                        "transitions": report.transitions,
                        "handoffs": report.handoffs,
                        "violations": report.violation_count,
                        "examples": report.violations,
                    },
                    indent=2,
                )
            )
        else:
            self.stdout.write(
                f"Journey invariants: {report.subjects:,} subjects, {report.transitions:,} transitions, "
                f"{report.handoffs:,} handoffs checked."
            )
            for line in report.violations:
                self.stdout.write(self.style.ERROR(f"  ✗ {line}"))
        if not report.ok:
            raise CommandError(f"{report.violation_count} invariant violation(s) found.")
        if options["format"] == "text":
            self.stdout.write(self.style.SUCCESS("All journey invariants hold."))
