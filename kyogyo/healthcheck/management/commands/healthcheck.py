"""kyogyo healthcheck: what the data says about the sheet's measurable items now, and an
assessment exported as Excel or PDF (the same functions the pages use)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from kyogyo.healthcheck import exports
from kyogyo.healthcheck.evidence import describe, measure_all
from kyogyo.healthcheck.models import Assessment
from kyogyo.healthcheck.reading import read, symbol
from kyogyo.healthcheck.sheet import load


class Command(BaseCommand):
    help = (
        "The Model health check: `evidence [--format text|json]` measures every measurable item "
        "from the data now; `export ID --to FILE.xlsx|FILE.pdf` writes an assessment. See docs/web/healthcheck.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        evidence = sub.add_parser("evidence", help="the evidence from the data, with suggested marks")
        evidence.add_argument("--format", choices=["text", "json"], default="text")
        evidence.add_argument("--language", choices=["en", "ja"], default="en")
        export = sub.add_parser("export", help="an assessment as Excel or PDF")
        export.add_argument("id", type=int)
        export.add_argument(
            "--to", required=True, help="the file to write: its extension (.xlsx, .pdf) says which"
        )
        export.add_argument("--language", choices=["en", "ja"], default="en")

    def handle(self, *args: Any, **options: Any) -> None:
        with translation.override(options["language"]):
            getattr(self, "do_" + options["action"])(options)

    def do_evidence(self, options: dict[str, Any]) -> None:
        found = measure_all()
        if options["format"] == "json":
            self.stdout.write(json.dumps(found, ensure_ascii=False, sort_keys=True))
            return
        for item in load().items:
            if item.key in found:
                figures = found[item.key]
                self.stdout.write(
                    f"{item.number:>5} {symbol(figures.get('suggested')):2} {describe(figures)}"
                )

    def do_export(self, options: dict[str, Any]) -> None:
        assessment = Assessment.objects.prefetch_related("marks").filter(pk=options["id"]).first()
        if assessment is None:
            raise CommandError(f"not_found: there is no assessment {options['id']}")
        target = Path(options["to"])
        writers = {".xlsx": exports.xlsx, ".pdf": exports.pdf}
        if target.suffix not in writers:
            raise CommandError("bad_type: write to a .xlsx or a .pdf file")
        target.write_bytes(writers[target.suffix](read(assessment)))
        self.stdout.write(f"wrote {target}")
