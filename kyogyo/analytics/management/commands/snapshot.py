"""kyogyo snapshot refresh|rebuild|status: the analytics snapshot."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kyogyo.analytics import snapshot
from kyogyo.analytics.output import to_json
from kyogyo.ops.outage import said_plainly


class Command(BaseCommand):
    help = (
        "The analytics snapshot (a DuckDB copy of what the metrics need). `refresh` reads only "
        "what changed since the last refresh (or builds it when there is none), `rebuild` reads "
        "everything into a new generation, `status` says how fresh it is and how much is waiting. "
        "Readers keep working during either: they see the previous generation until the new one "
        "is complete."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["refresh", "rebuild", "status"])
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args, **options) -> None:
        action, as_json = options["action"], options["format"] == "json"

        def say(message: str) -> None:
            if not as_json:
                self.stderr.write(message)

        unchanged = "the current generation is unchanged and readers keep it: run the same command again"
        try:
            with said_plainly(unchanged):
                if action == "status":
                    data = snapshot.status()
                elif action == "rebuild":
                    data = snapshot.rebuild(progress=say).as_dict()
                else:
                    data = snapshot.refresh(progress=say).as_dict()
        except snapshot.SnapshotError as exc:
            raise CommandError(f"{exc.code}: {exc}") from exc
        if as_json:
            self.stdout.write(to_json(data))
        elif action == "status":
            self.stdout.write(self._status_text(data))
        else:
            changed = ", ".join(f"{n:,} {k}" for k, n in data["changed"].items() if n)
            self.stdout.write(
                f"Snapshot generation {data['generation']}: {data['kind']} in {data['seconds']:.2f} s"
                + (f" ({data['reason']})" if data.get("reason") else "")
                + (f"; changed: {changed}" if changed else "")
            )

    def _status_text(self, data: dict) -> str:
        if not data["exists"]:
            return data["message"]
        pending = ", ".join(f"{n:,} {k}" for k, n in data["pending"].items() if n) or "nothing"
        return (
            f"Snapshot generation {data['generation']}, refreshed {data['refreshed_at']} "
            f"({data['age_seconds']:,} s ago); waiting: {pending}\n"
            + ", ".join(f"{n:,} {k}" for k, n in data["counts"].items())
        )


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run as `kyogyo snapshot`")
