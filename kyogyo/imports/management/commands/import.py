"""kyogyo import KIND FILE: bring records in from a CSV or XLSX file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kyogyo.imports.actions import ImportBusy, Summary, run_import
from kyogyo.imports.mappings import KINDS, MappingError, load_mapping
from kyogyo.imports.presets import PRESETS
from kyogyo.imports.sources import SourceError
from kyogyo.ops.outage import said_plainly
from kyogyo.ops.progress import reporter


class Command(BaseCommand):
    help = (
        "Import accounts, contacts (with their lifecycle dates), activities, deals, subscriptions "
        "(and their MRR changes, renewals, churn), NPS answers or lifecycle history from a CSV "
        "(UTF-8 with or without BOM, or Shift_JIS/CP932) or XLSX file, with a preset or a mapping "
        "file. Every valid row goes in exactly once (upsert by external id or email; re-running "
        "the file changes nothing), bad rows go to an error file, an interrupted run of the same "
        "file resumes. See docs/imports.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=KINDS, help=f"what the rows are: {', '.join(KINDS)}")
        parser.add_argument("file", type=Path, help="the CSV or XLSX file")
        how = parser.add_mutually_exclusive_group(required=True)
        presets = sorted({name for table in PRESETS.values() for name in table})
        how.add_argument("--preset", help=f"a built-in mapping: {', '.join(presets)}")
        how.add_argument(
            "--mapping",
            type=Path,
            help="a mapping file (YAML or JSON; may extend a preset with 'preset: NAME')",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="check and count as a real run would, write nothing but the error file",
        )
        parser.add_argument("--encoding", help="the CSV's encoding (default: detected, UTF-8 or cp932)")
        parser.add_argument(
            "--batch-size",
            type=int,
            help="rows per transaction, the unit a crashed run resumes after (default 5000)",
        )
        parser.add_argument(
            "--errors",
            type=Path,
            help="where to write the error file (default: KYOGYO_IMPORT_DIR/run-N-errors.csv)",
        )
        parser.add_argument(
            "--format",
            choices=["text", "json"],
            default="text",
            help="json: the counts and the error file's path",
        )
        parser.add_argument("--quiet", action="store_true", help="no progress line on stderr")

    def handle(self, *args, **options) -> None:
        if options["batch_size"] is not None and options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        resume = "the rows committed before are kept: run the same command again to resume after them"
        try:
            with said_plainly(resume):
                summary = self._run(options)
        except (MappingError, SourceError, ImportBusy, LookupError) as error:
            raise CommandError(str(error)) from None
        self._report(summary, options)

    def _run(self, options: dict) -> Summary:
        mapping = load_mapping(options["kind"], preset=options["preset"], path=options["mapping"])
        return run_import(
            options["kind"],
            options["file"],
            mapping,
            dry_run=options["dry_run"],
            encoding=options["encoding"],
            batch_size=options["batch_size"],
            error_file=options["errors"],
            progress=None if options["quiet"] else reporter(f"import {options['kind']}", stream=sys.stderr),
        )

    def _report(self, summary: Summary, options: dict) -> None:
        data = summary.as_dict()
        if options["format"] == "json":
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        prefix = "Dry run: would have " if options["dry_run"] else ""
        self.stdout.write(
            f"{prefix}created {summary.created}, updated {summary.updated}, "
            f"unchanged {summary.unchanged}, errors {summary.errors}"
        )
        if summary.resumed_after:
            self.stdout.write(f"Resumed after row {summary.resumed_after}.")
        if summary.error_file:
            self.stdout.write(f"Error file: {summary.error_file}")
