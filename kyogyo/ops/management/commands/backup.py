"""kyogyo backup: one file holding the database, the import files and a manifest."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kyogyo.ops.backup import BackupError, backup


class Command(BaseCommand):
    help = (
        "Back up the configured database while the app keeps running: SQLite through its online "
        "backup API (never a copy of the live file), PostgreSQL through pg_dump (a consistent "
        "snapshot). The file also holds the import files of the data directory and a manifest "
        "with every table's row count and a checksum of every part; `kyogyo restore` checks it "
        "before restoring. Default file: backups/kyogyo-YYYYMMDD-HHMMSS.tar in the data directory."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("-o", "--output", type=Path, help="the backup file to write")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args, **options) -> None:
        try:
            result = backup(options["output"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        if options["format"] == "json":
            self.stdout.write(
                json.dumps(
                    {
                        "file": str(result.path),
                        "engine": result.engine,
                        "tables": result.tables,
                        "rows": result.rows,
                        "files": result.files,
                        "bytes": result.bytes,
                    }
                )
            )
            return
        self.stdout.write(
            f"Backed up {result.rows:,} rows in {result.tables} tables ({result.engine}) and "
            f"{result.files} files to {result.path} ({result.bytes / 1_048_576:.1f} MiB)."
        )
