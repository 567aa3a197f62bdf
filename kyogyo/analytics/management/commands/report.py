"""kyogyo report NAME: one metric over the analytics snapshot, as JSON, a table or CSV."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kyogyo.analytics import metrics, reports, snapshot
from kyogyo.analytics.output import render, save
from kyogyo.analytics.spec import SpecError


class Command(BaseCommand):
    help = (
        "Print one metric of The Model from the analytics snapshot: waterfall and the other "
        "reports listed below. Every report takes a window (--from/--to or --period), slices "
        "(--by) and filters (--filter DIM=VALUE) where they make sense, and prints a table, "
        "CSV or the JSON shape documented in docs/analytics.md. The snapshot is built on "
        "first use; --refresh brings it up to date first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="metric", required=True, metavar="NAME")
        for name, module in metrics.registry().items():
            metric_parser = sub.add_parser(name, help=module.HELP, description=module.HELP)
            reports.add_common_arguments(metric_parser)
            if hasattr(module, "add_arguments"):
                module.add_arguments(metric_parser)

    def handle(self, *args, **options) -> None:
        output = options.get("output")
        if options["format"] == "xlsx" and not output:
            raise CommandError("output_required: --format xlsx needs --output FILE")
        if output and not Path(output).resolve().parent.is_dir():
            raise CommandError(f"bad_output: {Path(output).resolve().parent} is not a directory")
        try:
            module, data = reports.run(
                options["metric"], options, refresh=options["refresh"], say=self.stderr.write
            )
        except (SpecError, snapshot.SnapshotError) as exc:
            raise CommandError(f"{exc.code}: {exc}") from exc
        headers, rows = module.rows(data)
        if output:
            save(options["format"], Path(output), data, headers, rows, title=options["metric"])
            self.stderr.write(f"Wrote {options['metric']} to {output}.")
        else:
            self.stdout.write(render(options["format"], data, headers, rows))


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run as `kyogyo report`")
