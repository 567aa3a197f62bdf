"""kyogyo restore FILE: replace the configured database with a backup's."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kyogyo.ops.backup import BackupError, read_manifest, restore, table_counts


class Command(BaseCommand):
    help = (
        "Restore a backup written by `kyogyo backup` into the configured database, replacing "
        "everything in it. The file is checked first (manifest, checksums, database engine): a "
        "damaged or foreign file is refused before anything is touched. PostgreSQL is restored in "
        "one transaction (a failure leaves the database as it was). Afterwards every table's row "
        "count must equal the backup's, and the analytics snapshot is rebuilt. Stop the server "
        "and the worker first. Asks for confirmation unless --yes is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the backup file")
        parser.add_argument("--yes", action="store_true", help="do not ask: replace the database")
        parser.add_argument(
            "--no-snapshot", action="store_true", help="do not rebuild the analytics snapshot"
        )
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args, **options) -> None:
        source: Path = options["file"]
        if not source.is_file():
            raise CommandError(f"{source}: no such file")
        try:
            manifest = read_manifest(source)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        if not options["yes"]:
            self._confirm(manifest)
        try:
            result = restore(source, rebuild_snapshot=not options["no_snapshot"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        if options["format"] == "json":
            self.stdout.write(
                json.dumps(
                    {
                        "engine": result.engine,
                        "tables": result.tables,
                        "rows": result.rows,
                        "files": result.files,
                        "mismatches": result.mismatches,
                    }
                )
            )
        else:
            self.stdout.write(
                f"Restored {result.rows:,} rows in {result.tables} tables and {result.files} files "
                f"from the backup of {manifest['created_at']}."
            )
        if result.mismatches:
            raise CommandError("row counts differ from the backup: " + "; ".join(result.mismatches))

    def _confirm(self, manifest: dict) -> None:
        rows_now = sum(table_counts().values())
        question = (
            f"This replaces the {rows_now:,} rows in the configured database with the backup of "
            f"{manifest['created_at']} ({sum(manifest['tables'].values()):,} rows). Type 'restore' to go on: "
        )
        try:
            answer = input(question)
        except EOFError:
            answer = ""
        if answer.strip() != "restore":
            raise CommandError("not restored (give --yes to restore without asking)")
