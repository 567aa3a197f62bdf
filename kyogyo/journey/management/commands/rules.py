"""kyogyo rules: list, test and publish stage rules."""

from __future__ import annotations

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kyogyo.journey import criteria, evaluation, rulefile
from kyogyo.journey.models import Rule
from kyogyo.ops.moments import parse_moment
from kyogyo.ops.progress import reporter


class Command(BaseCommand):
    help = (
        "Stage rules. `rules list` shows the active rules; `rules test FILE` evaluates the rules in a "
        "YAML/JSON file against current data and prints who would qualify and who would change stage, "
        "without changing anything; `rules publish FILE` saves them as new versions; `rules run` applies "
        "the active rules to every subject now (what the scheduler does hourly)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        listing = sub.add_parser("list", help="show the active rules and their current versions")
        listing.add_argument("--format", choices=["table", "json"], default="table")
        test = sub.add_parser("test", help="evaluate a rule file against current data (changes nothing)")
        test.add_argument("file", help="YAML or JSON rule file (see docs/rules.md)")
        test.add_argument("--at", help="evaluate as of this ISO date-time (default now)")
        test.add_argument(
            "--sample", type=int, default=20, help="how many example subjects to list (default 20)"
        )
        test.add_argument("--format", choices=["table", "json"], default="table")
        publish = sub.add_parser(
            "publish", help="save the rules in a file as new versions and make them current"
        )
        publish.add_argument("file")
        publish.add_argument("--note", default="", help="why the rule changed (kept with the version)")
        run = sub.add_parser("run", help="apply the active rules to all subjects now")
        run.add_argument(
            "--at",
            help="judge as of this ISO date-time (default now); people whose "
            "last move is later are left alone",
        )
        run.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args, **options) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except criteria.RuleError as exc:
            lines = "\n".join(f"  {p}" for p in exc.problems)
            raise CommandError(f"The rule is not valid:\n{lines}") from exc

    def _list(self, options: dict) -> None:
        rules = Rule.objects.select_related("stage", "current_version", "current_version__reason").order_by(
            "priority", "key"
        )
        rows = [
            {
                "key": r.key,
                "stage": r.stage.key,
                "priority": r.priority,
                "active": r.active,
                "version": r.current_version.number if r.current_version else None,
                "from": r.current_version.from_stages if r.current_version else [],
                "when": criteria.describe(r.current_version.definition) if r.current_version else "",
            }
            for r in rules
        ]
        if options["format"] == "json":
            self.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        for row in rows:
            state = "" if row["active"] else " (inactive)"
            self.stdout.write(
                f"{row['priority']:>4}  {row['key']} v{row['version']}{state}: "
                f"{', '.join(row['from'])} → {row['stage']} when {row['when']}"
            )

    def _test(self, options: dict) -> None:
        at = self._parse_at(options.get("at"))
        candidates = rulefile.load(options["file"])
        rulefile.check(candidates)
        results = []
        for candidate in candidates:
            progress = reporter(f"testing {candidate.key}") if options["format"] == "table" else None
            results.append(
                evaluation.preview(candidate, at=at, sample_size=options["sample"], progress=progress)
            )
        if options["format"] == "json":
            self.stdout.write(json.dumps([r.as_dict() for r in results], indent=2, ensure_ascii=False))
            return
        for r in results:
            self.stdout.write(
                f"{r.key}: {r.evaluated:,} evaluated, {r.qualifying:,} would qualify, "
                f"{r.changing:,} would change stage (current version: {r.qualifying_now:,} qualify; "
                f"+{r.newly_qualifying:,} / −{r.no_longer_qualifying:,})"
            )
            for (src, dst), n in sorted(r.moves.items()):
                self.stdout.write(f"  {src} → {dst}: {n:,}")
            for s in r.sample:
                self.stdout.write(f"    #{s['subject']} {s['email'] or ''}: {s['from']} → {s['to']}")

    def _publish(self, options: dict) -> None:
        candidates = rulefile.load(options["file"])
        versions = rulefile.publish(candidates, note=options["note"])  # all rules of the file, or none
        for candidate, version in zip(candidates, versions, strict=True):
            self.stdout.write(f"Published {candidate.key} v{version.number}.")

    def _run(self, options: dict) -> None:
        progress = reporter("applying rules") if options["format"] == "table" else None
        run = evaluation.run_rules_for_all(at=self._parse_at(options.get("at")), progress=progress)
        if options["format"] == "json":
            self.stdout.write(json.dumps({"evaluated": run.evaluated, "moved": run.moved}))
        else:
            self.stdout.write(f"{run.evaluated:,} subjects evaluated, {run.moved:,} moved.")

    @staticmethod
    def _parse_at(text: str | None) -> dt.datetime | None:
        return parse_moment(text) if text else None
