"""kyogyo demo: build the demo company (and optionally serve it)."""

from __future__ import annotations

import datetime as dt
import json

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from kyogyo.customers.models import Contact
from kyogyo.demo import scenario
from kyogyo.demo.build import DEMO_PASSWORD, DemoError, build
from kyogyo.ops.progress import reporter


class Command(BaseCommand):
    help = (
        "Build a realistic, deterministic B2B SaaS company with two years of history — campaigns, "
        "leads in roughly the 10/25/65 now/never/later mix, activities, handoffs with accepts, "
        "rejects and SLA breaches, deals won, lost and 'no decision', subscriptions with expansion "
        "and churn, NPS answers — through the journey engine's rules. Same --seed and --today, same company."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--size",
            default="small",
            help="small (3,000 people), medium (50,000), large (1,000,000) or a number",
        )
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument("--today", help="last day of the history, YYYY-MM-DD (default today)")
        parser.add_argument(
            "--via",
            choices=["bulk", "actions"],
            default="bulk",
            help="bulk: plan rows with the engine in memory and write them in bulk (fast); "
            "actions: call every action one by one (slow, same rows)",
        )
        parser.add_argument(
            "--workers",
            type=int,
            help="processes simulating the bulk path in parallel (default: one per CPU, up to 4, "
            "for 20,000 people or more; else 1). The rows are the same for any number.",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="build only when the database holds no people yet; otherwise keep what is there",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="first remove all customer data and journey history (cannot be undone)",
        )
        parser.add_argument(
            "--no-snapshot",
            action="store_true",
            help="do not bring the analytics snapshot up to date afterwards (kyogyo snapshot refresh)",
        )
        parser.add_argument("--serve", action="store_true", help="serve the web app afterwards")
        parser.add_argument("--addr", default="127.0.0.1:8000", help="HOST:PORT for --serve")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args, **options) -> None:
        try:
            people = scenario.size_to_people(options["size"])
        except ValueError as exc:
            raise CommandError(f"--size: {exc}") from exc
        end = timezone.localdate()
        if options["today"]:
            try:
                end = dt.date.fromisoformat(options["today"])
            except ValueError as exc:
                raise CommandError(f"--today: {options['today']!r} is not a date (YYYY-MM-DD)") from exc
        call_command("migrate", interactive=False, verbosity=0)
        if options["if_empty"] and not options["reset"] and Contact.objects.exists():
            self.stdout.write(
                f"The database already holds {Contact.objects.count():,} people; kept as it is."
            )
            self._refresh_snapshot(options)
            if options["serve"]:
                call_command("serve", addr=options["addr"])
            return
        progress = reporter("people") if options["format"] == "text" else None
        try:
            result = build(
                seed=options["seed"],
                people=people,
                end=end,
                driver=options["via"],
                reset=options["reset"],
                workers=options["workers"],
                progress=progress,
            )
        except DemoError as exc:
            raise CommandError(str(exc)) from exc
        snapshot_seconds = self._refresh_snapshot(options)
        if options["format"] == "json":
            self.stdout.write(
                json.dumps(
                    {
                        "snapshot_seconds": snapshot_seconds,
                        "people": result.people,
                        "seconds": round(result.seconds, 2),
                        "via": result.driver,
                        "counts": result.counts,
                    }
                )
            )
        else:
            self.stdout.write(
                f"Demo company built in {result.seconds:.1f} s: "
                + ", ".join(f"{n:,} {k}" for k, n in result.counts.items())
            )
            self.stdout.write(
                "Staff sign in as mk01, is01, fs01, cs01, … (managers: mk00, is00, fs00, cs00) "
                f"with password {DEMO_PASSWORD!r}."
            )
        if options["serve"]:
            call_command("serve", addr=options["addr"])

    def _refresh_snapshot(self, options) -> float | None:
        """The reports and dashboards read the analytics snapshot: bring it up to date."""
        if options["no_snapshot"]:
            return None
        from kyogyo.analytics import snapshot

        result = snapshot.refresh()
        if options["format"] != "json":
            self.stdout.write(f"Analytics snapshot {result.kind} in {result.seconds:.1f} s.")
        return round(result.seconds, 2)
